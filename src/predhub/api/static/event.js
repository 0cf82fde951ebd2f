// Event: its aggregates, its markets (live) and their probabilities over time as a chart.
import {
  api, shell, setAsOf, LiveFeed, td, ageEl, fmt, usd, cents, priceOf, fetchedOf, marketLink,
  fail, notice,
} from "/static/common.js";

shell("Event");
const main = document.getElementById("main");
const id = new URLSearchParams(location.search).get("id");
const COLORS = ["#0b57d0", "#b3261e", "#0a7a3d", "#8a4b00", "#6a1b9a", "#00796b", "#c2185b", "#37474f"];

main.innerHTML = `
<h1 id="title">Event</h1>
<p id="facts" class="muted"></p>
<section class="card" aria-labelledby="h-chart"><h2 id="h-chart">Probabilities, last 7 days</h2>
  <div id="chart" class="chart" role="img" aria-label="Each market's probability over the last 7 days"></div></section>
<section class="card" aria-labelledby="h-markets"><h2 id="h-markets">Markets</h2>
  <div class="scroll"><table id="markets"><thead><tr>
    <th>Market</th><th class="num">Probability</th><th class="num">24 h volume</th><th>Status</th><th>Fetched</th>
  </tr></thead><tbody></tbody></table></div></section>`;

const rows = new Map();

function row(tr, m) {
  tr.replaceChildren(td(marketLink(m)), td(cents(priceOf(m)), "num"), td(usd(m.volume_24h), "num"),
    td(m.status), td(ageEl(fetchedOf(m))));
}

async function chart(markets) {
  const shown = markets.slice(0, COLORS.length);
  const answers = await Promise.all(shown.map((m) => api(`/v1/markets/${m.id}/history?interval=1h&range=7d`)));
  const times = new Set();
  for (const a of answers) for (const c of a.candles) times.add(Date.parse(c.t) / 1000);
  const xs = [...times].sort((a, b) => a - b);
  const series = answers.map((a) => {
    const by = new Map(a.candles.map((c) => [Date.parse(c.t) / 1000, c.close == null ? null : c.close * 100]));
    return xs.map((x) => by.get(x) ?? null);
  });
  const el = document.getElementById("chart");
  el.replaceChildren();
  if (!xs.length) {
    el.textContent = "No price history yet.";
    return;
  }
  // the 7 days asked for, not the candles' own span (a few candles would stretch it over years)
  const span = [Date.parse(answers[0].start) / 1000, Date.parse(answers[0].end) / 1000];
  new uPlot({
    width: Math.max(280, el.clientWidth - 4), height: 280,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),  // the axis in UTC, as the page
    scales: { x: { time: true, range: () => span }, y: { range: [0, 100] } },
    axes: [{}, { label: "probability (¢)" }],
    series: [{}, ...shown.map((m, i) => ({ label: m.question.slice(0, 40), stroke: COLORS[i], width: 2, spanGaps: true }))],
  }, [xs, ...series], el);
}

if (!id) {
  notice("No event given: open one from the Events page.", "error");
  document.getElementById("live").textContent = "nothing to follow";
} else {
  try {
    const doc = await api(`/v1/events/${encodeURIComponent(id)}`);
    document.getElementById("title").textContent = doc.title;
    document.title = `${doc.title} · predhub`;
    const ag = doc.aggregates || {};
    document.getElementById("facts").textContent = [doc.venue, doc.category, doc.status,
      `${fmt(ag.markets ?? doc.markets.length)} markets`, `24 h volume ${usd(ag.volume_24h)}`,
      ag.leading_probability != null ? `leader at ${cents(ag.leading_probability)}` : null].filter(Boolean).join(" · ");
    setAsOf(doc.as_of, "/v1/events/{id}");
    const body = document.querySelector("#markets tbody");
    body.replaceChildren(...doc.markets.map((m) => {
      const tr = document.createElement("tr");
      row(tr, m);
      rows.set(m.id, tr);
      return tr;
    }));
    await (window.uPlot ? chart(doc.markets) : Promise.resolve());
    new LiveFeed({
      markets: doc.markets.map((m) => m.id),
      poll: async () => {
        const fresh = await api(`/v1/events/${encodeURIComponent(id)}`);
        for (const m of fresh.markets) if (rows.has(m.id)) row(rows.get(m.id), m);
      },
      handlers: { quote(mid, m) { if (rows.has(mid)) row(rows.get(mid), m); } },
    });
  } catch (e) {
    fail(e);
  }
}
