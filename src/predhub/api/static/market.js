// Market: question, rules, outcomes with price/bid/ask/spread, a price chart with volume
// bars (1 h, 1 d, 1 w, all), order book depth, trades (live), and the same market on
// other venues from matching, each figure with its age.
import {
  api, shell, setAsOf, LiveFeed, td, emptyRow, ageEl, fmt, usd, cents, priceOf, fetchedOf,
  fail, notice,
} from "/static/common.js";

shell("Market");
const main = document.getElementById("main");
const id = new URLSearchParams(location.search).get("id");

// Interval buttons: the candle width and how far back each shows.
const RANGES = {
  "1h": { interval: "1m", range: "1h" },
  "1d": { interval: "15m", range: "1d" },
  "1w": { interval: "1h", range: "7d" },
  all: { interval: "1d", range: "5y" },
};

main.innerHTML = `
<h1 id="question">Market</h1>
<p id="facts" class="muted"></p>
<div class="grid">
  <section class="card" aria-labelledby="h-outcomes"><h2 id="h-outcomes">Outcomes</h2>
    <p id="quote-age" class="muted"></p>
    <div class="scroll"><table id="outcomes"><thead><tr>
      <th>Outcome</th><th class="num">Price</th><th class="num">Bid</th><th class="num">Ask</th>
      <th class="num">Spread</th><th class="num">Last</th></tr></thead><tbody></tbody></table></div></section>
  <section class="card" aria-labelledby="h-rules"><h2 id="h-rules">Rules</h2>
    <div id="rules" class="rules muted">Loading the rules…</div>
    <p id="resolution-source" class="muted" hidden></p>
    <p id="venue-link"></p></section>
</div>
<section class="card" aria-labelledby="h-chart"><h2 id="h-chart">Price history</h2>
  <div class="controls" role="group" aria-label="Chart range">
    <button type="button" data-range="1h" aria-pressed="false">1 h</button>
    <button type="button" data-range="1d" aria-pressed="true">1 d</button>
    <button type="button" data-range="1w" aria-pressed="false">1 w</button>
    <button type="button" data-range="all" aria-pressed="false">All</button>
    <span id="chart-note" class="muted" aria-live="polite"></span></div>
  <div id="chart" class="chart" role="img" aria-label="Price and volume chart of the first outcome"></div></section>
<div class="grid">
  <section class="card" aria-labelledby="h-book"><h2 id="h-book">Order book depth</h2>
    <p id="book-age" class="muted"></p>
    <div id="depth" class="chart" role="img" aria-label="Cumulative depth of bids and asks"></div>
    <div class="scroll"><table id="book"><thead><tr>
      <th class="num">Bid size</th><th class="num">Bid</th><th class="num">Ask</th><th class="num">Ask size</th>
    </tr></thead><tbody></tbody></table></div></section>
  <section class="card" aria-labelledby="h-trades"><h2 id="h-trades">Trades</h2>
    <div class="scroll"><table id="trades"><thead><tr>
      <th>When</th><th>Outcome</th><th>Side</th><th class="num">Price</th><th class="num">Size</th>
    </tr></thead><tbody></tbody></table></div></section>
</div>
<section class="card" aria-labelledby="h-other"><h2 id="h-other">Same market on other venues</h2>
  <div class="scroll"><table id="other"><thead><tr>
    <th>Venue</th><th>Market</th><th class="num">Price</th><th class="num">This market</th><th class="num">Difference</th>
    <th>Relation</th><th class="num">Confidence</th><th>Status</th><th>Fetched</th>
  </tr></thead><tbody></tbody></table></div></section>`;

let market = null;
let chart = null;
let depth = null;
const others = new Map(); // market id -> {match, doc}

function outcomeRows(doc) {
  const body = document.querySelector("#outcomes tbody");
  body.replaceChildren(...doc.outcomes.map((o) => {
    const tr = document.createElement("tr");
    const spread = o.best_bid != null && o.best_ask != null ? o.best_ask - o.best_bid : null;
    tr.append(td(o.label), td(cents(o.price ?? o.mid ?? o.last), "num"), td(cents(o.best_bid), "num"),
      td(cents(o.best_ask), "num"), td(spread == null ? "–" : `${(spread * 100).toFixed(1)}¢`, "num"),
      td(cents(o.last), "num"));
    return tr;
  }));
}

function showMarket(doc, { stale = false, reason = null } = {}) {
  market = { ...market, ...doc };
  document.getElementById("question").textContent = doc.question;
  document.title = `${doc.question} · predhub`;
  const facts = document.getElementById("facts");
  facts.replaceChildren();
  const bits = [doc.venue, doc.status, doc.category, doc.end_at ? `closes ${doc.end_at.slice(0, 16).replace("T", " ")} UTC` : null,
    `24 h volume ${usd(doc.volume_24h)}`, `liquidity ${usd(doc.liquidity)}`].filter(Boolean);
  facts.append(document.createTextNode(bits.join(" · ")));
  if (doc.event_id) {
    const a = document.createElement("a");
    a.href = `/event?id=${doc.event_id}`;
    a.textContent = `event: ${doc.event_title || doc.event_id}`;
    facts.append(document.createTextNode(" · "), a);
  }
  outcomeRows(doc);
  const ageLine = document.getElementById("quote-age");
  ageLine.replaceChildren(document.createTextNode("Quotes fetched "),
    ageEl(fetchedOf(doc), { reason: stale ? reason || "older than its tier allows" : null }),
    document.createTextNode(doc.as_of ? ` · venue observed ${doc.as_of.slice(11, 19)} UTC` : ""));
  setAsOf(fetchedOf(doc), "fetched_at");
  venueLink(doc);
  for (const [, other] of others) drawOther(other);
}

// The market's page on its venue: the document's `url`, which the API builds from the
// venue's link template; a market missing a field the template needs has none.
function venueLink(doc) {
  const line = document.getElementById("venue-link");
  if (doc.url) {
    const a = document.createElement("a");
    a.href = doc.url;
    a.rel = "noopener";
    a.textContent = `Open on ${doc.venue}`;
    line.replaceChildren(a);
  } else if (!line.querySelector("a")) {
    line.textContent = `No link to this market's page on ${doc.venue}.`;
  }
}

// Rules come with the market's detail answer only (too long for every price answer).
async function loadRules() {
  const doc = await api(`/v1/markets/${id}`);
  const rules = document.getElementById("rules");
  rules.textContent = doc.rules || "No rules text from the venue.";
  rules.classList.toggle("muted", !doc.rules);
  const source = document.getElementById("resolution-source");
  source.hidden = !doc.resolution_source;
  source.textContent = doc.resolution_source ? `Resolution source: ${doc.resolution_source}` : "";
  venueLink(doc);
}

function chartSize(el) {
  return { width: Math.max(280, el.clientWidth - 4), height: 260 };
}

async function loadChart(name) {
  const spec = RANGES[name];
  const data = await api(`/v1/markets/${id}/history?interval=${spec.interval}&range=${spec.range}`);
  const xs = data.candles.map((c) => Date.parse(c.t) / 1000);
  const closes = data.candles.map((c) => (c.close == null ? null : c.close * 100));
  const vols = data.candles.map((c) => c.volume ?? 0);
  document.getElementById("chart-note").textContent =
    `${data.candles.length} ${spec.interval} candles, ${data.start.slice(0, 16)} to ${data.end.slice(0, 16)} UTC`;
  const el = document.getElementById("chart");
  if (chart) chart.destroy();
  el.replaceChildren();
  // the range asked for, not the candles' own span: one candle would otherwise stretch
  // the axis over years
  const span = [Date.parse(data.start) / 1000, Date.parse(data.end) / 1000];
  if (name === "all" && xs.length) span[0] = Math.min(xs[0], span[1] - 86400);  // all: from the first candle
  chart = new uPlot({
    ...chartSize(el),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),  // the axis in UTC, as the page
    scales: { x: { time: true, range: () => span }, p: { range: [0, 100] }, v: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
    axes: [{}, { scale: "p", label: "price (¢)", values: (u, v) => v.map((x) => `${x}`) }, { scale: "v", side: 1, grid: { show: false }, label: "volume" }],
    series: [
      {},
      { label: "Price (¢)", scale: "p", stroke: "#0b57d0", width: 2, spanGaps: true },
      { label: "Volume", scale: "v", fill: "rgba(10,122,61,0.35)", stroke: "#0a7a3d", paths: uPlot.paths.bars({ size: [0.8, 40] }) },
    ],
  }, [xs, closes, vols], el);
  // what the chart spans, in words (its axes are drawn on a canvas a screen reader cannot read)
  const when = (x) => new Date(x * 1000).toISOString().slice(0, 16).replace("T", " ");
  el.setAttribute("aria-label", `Price and volume of the first outcome, ${when(span[0])} to ${when(span[1])} UTC`);
}

async function loadBook() {
  const data = await api(`/v1/markets/${id}/book`);
  const book = data.books.find((b) => b.outcome === 0) || data.books[0];
  const body = document.querySelector("#book tbody");
  const line = document.getElementById("book-age");
  if (!book) {
    line.textContent = "No order book stored for this market.";
    body.replaceChildren();
    return;
  }
  line.replaceChildren(document.createTextNode(`Outcome ${book.outcome}, observed `), ageEl(book.observed_at));
  const bids = [...book.bids].sort((a, b) => b.price - a.price);
  const asks = [...book.asks].sort((a, b) => a.price - b.price);
  const n = Math.min(10, Math.max(bids.length, asks.length));
  const rows = [];
  for (let i = 0; i < n; i++) {
    const b = bids[i];
    const a = asks[i];
    const tr = document.createElement("tr");
    tr.append(td(b ? fmt(b.size, 0) : "", "num"), td(b ? cents(b.price) : "", "num"),
      td(a ? cents(a.price) : "", "num"), td(a ? fmt(a.size, 0) : "", "num"));
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  // cumulative depth: bids from the best price down, asks from the best price up
  const points = new Map();
  let sum = 0;
  for (const b of bids) { sum += b.size; points.set(b.price, { bid: sum, ask: null }); }
  sum = 0;
  for (const a of asks) { sum += a.size; const p = points.get(a.price) || { bid: null }; p.ask = sum; points.set(a.price, p); }
  const xs = [...points.keys()].sort((x, y) => x - y);
  const el = document.getElementById("depth");
  if (depth) depth.destroy();
  el.replaceChildren();
  if (!xs.length) return;
  depth = new uPlot({
    ...chartSize(el), height: 200,
    scales: { x: { time: false } },
    axes: [{ values: (u, v) => v.map((x) => `${Math.round(x * 100)}¢`) }, {}],
    series: [{ label: "Price" },
      { label: "Bids", stroke: "#0a7a3d", fill: "rgba(10,122,61,0.2)", paths: uPlot.paths.stepped({ align: -1 }) },
      { label: "Asks", stroke: "#b3261e", fill: "rgba(179,38,30,0.2)", paths: uPlot.paths.stepped({ align: 1 }) }],
  }, [xs, xs.map((x) => points.get(x).bid), xs.map((x) => points.get(x).ask)], el);
}

function tradeRow(t) {
  const tr = document.createElement("tr");
  const label = market && market.outcomes[t.outcome] ? market.outcomes[t.outcome].label : t.outcome;
  tr.append(td(ageEl(t.executed_at, { staleAfter: Infinity })), td(label ?? "–"), td(t.side || "–"),
    td(cents(t.price), "num"), td(fmt(t.size, 2), "num"));
  return tr;
}

async function loadTrades() {
  const data = await api(`/v1/markets/${id}/trades?limit=25`);
  const body = document.querySelector("#trades tbody");
  body.replaceChildren(...data.data.map(tradeRow));
  if (!data.data.length) body.append(emptyRow(5, "No trade recorded yet: new ones appear here live."));
}


function onTrades(trades) {
  const body = document.querySelector("#trades tbody");
  for (const empty of body.querySelectorAll("tr.empty")) empty.remove();
  for (const t of trades) {
    const tr = tradeRow(t);
    tr.classList.add("flash");
    body.prepend(tr);
  }
  while (body.children.length > 50) body.lastChild.remove();
}

function drawOther(other) {
  const { match, doc, tr } = other;
  const side = match.a.market_id === market.id ? match.b : match.a;
  const theirs = doc ? priceOf(doc) : null;
  const ours = priceOf(market);
  const diff = theirs != null && ours != null ? (theirs - ours) * 100 : null;
  const link = document.createElement("a");
  link.href = `/market?id=${side.market_id}`;
  link.textContent = side.question;
  tr.replaceChildren(td(side.venue), td(link), td(cents(theirs), "num"), td(cents(ours), "num"),
    td(diff == null ? "–" : `${diff > 0 ? "+" : ""}${diff.toFixed(1)}¢`, "num"), td(match.relation),
    td(fmt(match.confidence, 2), "num"), td(match.status), td(doc ? ageEl(fetchedOf(doc), { reason: doc.stale ? doc.stale_reason || "not refreshed" : null }) : "–"));
}

async function loadOthers() {
  const data = await api(`/v1/markets/${id}/matches`);
  const body = document.querySelector("#other tbody");
  body.replaceChildren();
  others.clear();
  const wanted = data.data.filter((m) => m.status !== "rejected");
  const ids = wanted.map((m) => (m.a.market_id === market.id ? m.b.market_id : m.a.market_id));
  let prices = {};
  if (ids.length) prices = (await api("/v1/prices", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ids, max_age: 1e9 }) })).prices;
  wanted.forEach((match, i) => {
    const tr = document.createElement("tr");
    const doc = prices[String(ids[i])];
    const other = { match, doc: doc && !doc.error ? doc : null, tr };
    others.set(ids[i], other);
    drawOther(other);
    body.append(tr);
  });
  if (!wanted.length) body.append(emptyRow(9, "No match on another venue yet."));
  return ids;
}

async function loadQuote() {
  const doc = await api(`/v1/markets/${id}/price`);
  showMarket(doc, { stale: doc.stale, reason: doc.stale_reason });
  return doc;
}

for (const b of document.querySelectorAll("[data-range]")) {
  b.addEventListener("click", () => {
    for (const x of document.querySelectorAll("[data-range]")) x.setAttribute("aria-pressed", String(x === b));
    loadChart(b.dataset.range).catch(fail);
  });
}

if (!id) {
  notice("No market given: open a market from the Markets page.", "error");
  document.getElementById("live").textContent = "nothing to follow";
} else {
  try {
    const doc = await loadQuote();
    market = doc;
    const [, , , otherIds] = await Promise.all([
      window.uPlot ? loadChart("1d") : Promise.resolve(), loadBook(), loadTrades(), loadOthers(), loadRules(),
    ]);
    new LiveFeed({
      markets: [doc.id, ...otherIds],
      poll: async () => { await loadQuote(); await loadTrades(); },
      handlers: {
        quote(mid, data) {
          if (mid === market.id) showMarket(data);
          else if (others.has(mid)) { const o = others.get(mid); o.doc = data; drawOther(o); }
        },
        trades(mid, trades) { if (mid === market.id) onTrades(trades); },
      },
    });
  } catch (e) {
    fail(e);
  }
}
