// Home: venues with their freshness, top markets (live), movers, trending, volume
// by venue and by category.
import {
  api, shell, setAsOf, LiveFeed, td, emptyRow, ageEl, fmt, usd, cents, points, priceOf, fetchedOf,
  marketLink, fail, oldest,
} from "/static/common.js";

shell("Home");
const main = document.getElementById("main");
main.innerHTML = `
<h1>Prediction markets across venues</h1>
<div class="grid">
  <section class="card" aria-labelledby="h-venues"><h2 id="h-venues">Venues and freshness</h2>
    <div class="scroll"><table id="venues"><thead><tr>
      <th>Venue</th><th class="num">Markets</th><th class="num">Open</th>
      <th>Newest quote</th><th class="num">Quote age p50</th><th class="num">p90</th>
      <th>Newest trade</th><th>Newest metadata</th><th class="num">Hot</th></tr></thead><tbody></tbody></table></div>
    <p class="muted">Quote ages as the gold refresh measured them <span id="venues-measured"></span>.</p></section>
  <section class="card" aria-labelledby="h-top"><h2 id="h-top">Top markets by 24 h volume</h2>
    <div class="scroll"><table id="top"><thead><tr>
      <th>Market</th><th>Venue</th><th class="num">Price</th><th class="num">24 h volume</th><th>Fetched</th>
    </tr></thead><tbody></tbody></table></div></section>
  <section class="card" aria-labelledby="h-movers"><h2 id="h-movers">Movers</h2>
    <div class="controls" role="group" aria-label="Movers window">
      <button type="button" data-window="1h" aria-pressed="false">1 h</button>
      <button type="button" data-window="24h" aria-pressed="true">24 h</button>
      <button type="button" data-window="7d" aria-pressed="false">7 d</button></div>
    <div class="scroll"><table id="movers"><thead><tr>
      <th>Market</th><th>Venue</th><th class="num">Move</th><th class="num">Price</th><th>Fetched</th>
    </tr></thead><tbody></tbody></table></div></section>
  <section class="card" aria-labelledby="h-trending"><h2 id="h-trending">Trending</h2>
    <div class="scroll"><table id="trending"><thead><tr>
      <th>Market</th><th>Venue</th><th class="num">Notional 24 h</th><th class="num">Day before</th><th class="num">Trades 24 h</th><th>Counted</th>
    </tr></thead><tbody></tbody></table></div></section>
  <section class="card" aria-labelledby="h-byvenue"><h2 id="h-byvenue">Volume by venue</h2>
    <div class="scroll"><table id="byvenue"><thead><tr>
      <th>Venue</th><th class="num">24 h volume</th><th class="num">Share</th><th class="num">Open interest</th><th class="num">Open markets</th><th>Counted</th>
    </tr></thead><tbody></tbody></table></div></section>
  <section class="card" aria-labelledby="h-bycat"><h2 id="h-bycat">Volume by category</h2>
    <div class="scroll"><table id="bycat"><thead><tr>
      <th>Category</th><th class="num">24 h volume</th><th class="num">Share</th><th class="num">Open markets</th><th>Counted</th>
    </tr></thead><tbody></tbody></table></div></section>
</div>`;

const topRows = new Map();

function topRow(tr, m) {
  tr.replaceChildren(td(marketLink(m)), td(m.venue), td(cents(priceOf(m)), "num"),
    td(usd(m.volume_24h), "num"), td(ageEl(fetchedOf(m))));
}

async function loadVenues() {
  const data = await api("/v1/venues");
  const measured = data.venues.map((v) => v.measured_at).filter(Boolean).sort()[0];
  document.getElementById("venues-measured").replaceChildren(measured ? ageEl(measured, { staleAfter: 900 }) : "–");
  const body = document.querySelector("#venues tbody");
  body.replaceChildren(...data.venues.filter((v) => v.enabled || v.markets).map((v) => {
    const tr = document.createElement("tr");
    tr.append(td(v.name), td(fmt(v.markets), "num"), td(fmt(v.open_markets), "num"),
      td(ageEl(v.newest_quote_at)), td(v.open_quote_age_p50 == null ? "–" : `${fmt(v.open_quote_age_p50, 1)} s`, "num"),
      td(v.open_quote_age_p90 == null ? "–" : `${fmt(v.open_quote_age_p90, 1)} s`, "num"),
      td(ageEl(v.newest_trade_at, { staleAfter: 86400 })),
      td(ageEl(v.newest_metadata_at, { staleAfter: 86400 })), td(fmt(v.hot_markets), "num"));
    return tr;
  }));
}

async function loadTop() {
  const data = await api("/v1/top?n=10");
  setAsOf(data.as_of || oldest(data.overall.map(fetchedOf)), "/v1/top");
  const body = document.querySelector("#top tbody");
  topRows.clear();
  body.replaceChildren(...data.overall.slice(0, 15).map((m) => {
    const tr = document.createElement("tr");
    topRow(tr, m);
    topRows.set(m.id, tr);
    return tr;
  }));
  if (!body.children.length) body.append(emptyRow(5, "No market loaded yet: the first sync is under way."));
  return [...topRows.keys()];
}

async function loadMovers(window) {
  const data = await api(`/v1/movers?window=${window}&limit=10`);
  const body = document.querySelector("#movers tbody");
  body.replaceChildren(...data.data.filter((r) => r.market).map((r) => {
    const tr = document.createElement("tr");
    tr.append(td(marketLink(r.market)), td(r.venue), td(points(r.move), r.move > 0 ? "num up" : "num down"),
      td(cents(r.price), "num"), td(ageEl(fetchedOf(r.market))));
    return tr;
  }));
  if (!body.children.length) body.append(emptyRow(5, "No moves in this window yet."));
}

// A ranked row's age: when the gold refresh counted it (its figures are that old).
const counted = (r) => ageEl(r.refreshed_at || r.as_of, { staleAfter: 900 });


async function loadTrending() {
  const data = await api("/v1/trending?limit=10");
  const body = document.querySelector("#trending tbody");
  body.replaceChildren(...data.data.filter((r) => r.market).map((r) => {
    const tr = document.createElement("tr");
    tr.append(td(marketLink(r.market)), td(r.venue), td(usd(r.notional_24h), "num"),
      td(usd(r.notional_prev_24h), "num"), td(fmt(r.trades_24h), "num"), td(counted(r)));
    return tr;
  }));
  if (!body.children.length) body.append(emptyRow(6, "No trading activity yet."));
}

async function loadStats() {
  const data = await api("/v1/stats");
  document.querySelector("#byvenue tbody").replaceChildren(...data.venues.map((v) => {
    const tr = document.createElement("tr");
    tr.append(td(v.venue), td(usd(v.volume_24h), "num"), td(v.share == null ? "–" : `${fmt(v.share * 100, 1)} %`, "num"),
      td(usd(v.open_interest), "num"), td(fmt(v.open_markets), "num"), td(counted(v)));
    return tr;
  }));
  document.querySelector("#bycat tbody").replaceChildren(...data.categories.slice(0, 12).map((c) => {
    const tr = document.createElement("tr");
    tr.append(td(c.category || "(none)"), td(usd(c.volume_24h), "num"),
      td(c.share == null ? "–" : `${fmt(c.share * 100, 1)} %`, "num"), td(fmt(c.open_markets), "num"), td(counted(c)));
    return tr;
  }));
  if (!data.venues.length) document.querySelector("#byvenue tbody").append(emptyRow(6, "No gold refresh yet."));
  if (!data.categories.length) document.querySelector("#bycat tbody").append(emptyRow(5, "No gold refresh yet."));
}

let moversWindow = "24h";
for (const button of document.querySelectorAll("[data-window]")) {
  button.addEventListener("click", () => {
    moversWindow = button.dataset.window;
    for (const b of document.querySelectorAll("[data-window]")) b.setAttribute("aria-pressed", String(b === button));
    loadMovers(button.dataset.window).catch(fail);
  });
}

let feed = null;

// The rankings change as the worker refreshes gold: read them again now and then (every
// 5 s while nothing is ranked yet, as in a new hub's first minute), following new rows live.
async function refresh() {
  const [, ids] = await Promise.all([loadVenues(), loadTop(), loadStats(), loadMovers(moversWindow), loadTrending()]);
  if (feed) feed.follow(ids);
  return ids;
}

function schedule() {
  setTimeout(() => refresh().catch(() => {}).finally(schedule), topRows.size ? 30000 : 5000);
}

try {
  const ids = await refresh();
  schedule();
  feed = new LiveFeed({
    markets: ids,
    poll: refresh,
    handlers: {
      quote(id, doc) {
        const tr = topRows.get(id);
        if (!tr) return;
        topRow(tr, doc);
        tr.classList.remove("flash");
        void tr.offsetWidth;
        tr.classList.add("flash");
      },
    },
  });
  setInterval(() => loadVenues().catch(() => {}), 10000);
} catch (e) {
  fail(e);
}
