// Markets: a screener over /v1/markets (filters, sort both ways, keyset pages, CSV of the
// view) and full-text search over /v1/search with suggestions as you type.
import {
  api, shell, setAsOf, LiveFeed, td, ageEl, fmt, usd, cents, points, priceOf, fetchedOf,
  marketLink, fail, notice, oldest,
} from "/static/common.js";

shell("Markets");
const main = document.getElementById("main");
main.innerHTML = `
<h1>Markets</h1>
<form class="filters" id="search-form" role="search">
  <label for="q">Search questions and events
    <input id="q" name="q" type="search" autocomplete="off" placeholder="e.g. bitcoin"
      aria-describedby="q-help" aria-controls="suggestions" aria-autocomplete="list"></label>
  <button type="submit" class="primary">Search</button>
  <button type="button" id="clear-search">Clear search</button>
  <span id="q-help" class="sr-only">Suggestions appear below as you type</span>
</form>
<ul id="suggestions" class="card" aria-label="Suggestions" hidden></ul>
<div class="presets" role="group" aria-label="Presets">
  <span class="muted">Presets:</span>
  <button type="button" data-preset="closing">Closing within 7 days</button>
  <button type="button" data-preset="coinflip">Coin flips 40–60¢</button>
  <button type="button" data-preset="longshot">Long shots under 10¢</button>
  <button type="button" data-preset="movers">Biggest movers</button>
  <button type="button" data-preset="reset">Reset</button>
</div>
<form class="filters" id="filters">
  <label for="f-venue">Venue<select id="f-venue" name="venue"><option value="">any</option></select></label>
  <label for="f-category">Category<input id="f-category" name="category" list="categories" size="12"></label>
  <datalist id="categories"></datalist>
  <label for="f-status">Status<select id="f-status" name="status">
    <option value="">any</option><option value="open" selected>open</option><option value="closed">closed</option>
    <option value="resolved">resolved</option><option value="voided">voided</option></select></label>
  <label for="f-volume">Min 24 h volume ($)<input id="f-volume" name="min_volume" type="number" min="0" step="any" size="8"></label>
  <label for="f-closing">Closing within<select id="f-closing" name="closing">
    <option value="">any time</option><option value="1">1 day</option><option value="7">7 days</option>
    <option value="30">30 days</option></select></label>
  <label for="f-min-price">Price from (¢)<input id="f-min-price" name="min_price" type="number" min="0" max="100" step="any" size="4"></label>
  <label for="f-max-price">to (¢)<input id="f-max-price" name="max_price" type="number" min="0" max="100" step="any" size="4"></label>
  <label for="f-limit">Per page<select id="f-limit" name="limit"><option>25</option><option selected>50</option><option>100</option></select></label>
  <button type="submit" class="primary">Apply filters</button>
</form>
<p class="controls"><a id="export" href="/v1/markets?format=csv" download="markets.csv">Export this view as CSV</a>
  <a id="export-all" href="/v1/markets?format=csv" download="markets-all.csv">Export every matching market as CSV</a></p>
<p id="mode" class="muted" aria-live="polite"></p>
<div class="scroll"><table id="markets"><thead><tr>
  <th>Market</th><th>Venue</th><th>Category</th><th class="num">Price</th>
  <th class="num" data-sort="change_24h"><button type="button">24 h change</button></th>
  <th class="num" data-sort="volume_24h" aria-sort="descending"><button type="button">24 h volume</button></th>
  <th class="num" data-sort="liquidity"><button type="button">Liquidity</button></th>
  <th data-sort="end_at"><button type="button">Closes</button></th><th>Fetched</th>
</tr></thead><tbody></tbody></table></div>
<nav class="pager" aria-label="Pages">
  <button type="button" id="prev">Previous page</button><span id="pageno" class="muted">page 1</span>
  <button type="button" id="next">Next page</button></nav>`;

const state = { sort: "volume_24h", cursors: [null], page: 0, next: null, q: "", rows: [] };
const rowsById = new Map();
let feed = null;

function filterParams() {
  const form = document.getElementById("filters");
  const p = new URLSearchParams();
  const get = (name) => form.elements[name].value.trim();
  if (get("venue")) p.set("venue", get("venue"));
  if (get("category")) p.set("category", get("category"));
  if (get("status")) p.set("status", get("status"));
  if (get("min_volume")) p.set("min_volume", get("min_volume"));
  if (get("closing")) p.set("closing_before", new Date(Date.now() + Number(get("closing")) * 86400e3).toISOString());
  if (get("min_price")) p.set("min_price", String(Number(get("min_price")) / 100));
  if (get("max_price")) p.set("max_price", String(Number(get("max_price")) / 100));
  return p;
}

function row(m) {
  const tr = document.createElement("tr");
  const change = m.change_24h;
  tr.append(td(marketLink(m)), td(m.venue), td(m.category || "–"), td(cents(priceOf(m)), "num"),
    td(points(change), change > 0 ? "num up" : change < 0 ? "num down" : "num"),
    td(usd(m.volume_24h), "num"), td(usd(m.liquidity), "num"),
    td(m.end_at ? m.end_at.slice(0, 10) : "–"), td(ageEl(fetchedOf(m))));
  return tr;
}

function draw(docs) {
  state.rows = docs;
  rowsById.clear();
  const body = document.querySelector("#markets tbody");
  body.replaceChildren(...docs.map((m) => {
    const tr = row(m);
    rowsById.set(m.id, tr);
    return tr;
  }));
  if (!docs.length) {
    const tr = document.createElement("tr");
    const cell = td("No market matches.", "muted");
    cell.colSpan = 9;
    tr.append(cell);
    body.append(tr);
  }
  setAsOf(oldest(docs.map(fetchedOf)), "rows");
  document.getElementById("pageno").textContent = `page ${state.page + 1}`;
  document.getElementById("prev").disabled = state.page === 0;
  document.getElementById("next").disabled = !state.next;
  const ids = docs.map((m) => m.id);
  if (feed) feed.follow(ids);
  else feed = new LiveFeed({ markets: ids, poll: () => load(), handlers: { quote: onQuote } });
}

function onQuote(id, doc) {
  const tr = rowsById.get(id);
  if (!tr) return;
  const fresh = row(doc);
  tr.replaceChildren(...fresh.children);
  tr.classList.remove("flash");
  void tr.offsetWidth;
  tr.classList.add("flash");
}

async function load() {
  const limit = document.getElementById("f-limit").value;
  const cursor = state.cursors[state.page];
  let data;
  if (state.q) {
    const p = new URLSearchParams({ q: state.q, limit: String(Math.min(Number(limit), 100)) });
    const venue = document.getElementById("f-venue").value;
    const status = document.getElementById("f-status").value;
    if (venue) p.set("venue", venue);
    p.set("status", status || "any");
    if (cursor) p.set("cursor", cursor);
    data = await api(`/v1/search?${p}`);
    document.getElementById("mode").textContent = `Search results for “${state.q}”, by relevance.`;
    setExport(null, null);
  } else {
    const p = filterParams();
    p.set("sort", state.sort);
    p.set("limit", limit);
    if (cursor) p.set("cursor", cursor);
    // this view: the same filters, order, page size and page as the rows shown; and
    // every market the filters match, in the same order
    const view = new URLSearchParams(p);
    view.set("format", "csv");
    const every = new URLSearchParams(view);
    every.delete("limit");
    every.delete("cursor");
    setExport(`/v1/markets?${view}`, `/v1/markets?${every}`);
    data = await api(`/v1/markets?${p}`);
    document.getElementById("mode").textContent = `Markets by ${state.sort.replace(/^-/, "")} (${state.sort.startsWith("-") ? "reversed" : "natural order"}).`;
  }
  state.next = data.next_cursor;
  draw(data.data);
}

let exportDocs = null;
function setExport(href, all) {
  const a = document.getElementById("export");
  const every = document.getElementById("export-all");
  every.hidden = !all;
  if (all) every.href = all;
  if (href) {
    a.href = href;
    a.download = "markets.csv";
    exportDocs = null;
  } else {
    // search results: the rows shown, written here in the export's own columns
    exportDocs = true;
    a.href = "#";
    a.download = "search.csv";
  }
}

document.getElementById("export").addEventListener("click", (ev) => {
  if (!exportDocs) return;
  ev.preventDefault();
  const head = ["market_id", "venue", "native_id", "question", "category", "status", "end_at", "volume_24h",
    "liquidity", "outcome", "outcome_label", "price", "best_bid", "best_ask"];
  const esc = (v) => (v == null ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const lines = [head.join(",")].concat(state.rows.flatMap((m) => (m.outcomes || []).map((o, i) =>
    [m.id, m.venue, m.native_id, m.question, m.category, m.status, m.end_at, m.volume_24h, m.liquidity,
      i, o.label, o.price, o.best_bid, o.best_ask].map(esc).join(","))));
  const blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "search.csv";
  document.body.append(a);
  a.click();
  a.remove();
});

function restart() {
  state.cursors = [null];
  state.page = 0;
  load().then(() => notice(null)).catch(fail);
}

document.getElementById("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  restart();
});

for (const th of document.querySelectorAll("th[data-sort]")) {
  th.querySelector("button").addEventListener("click", () => {
    const name = th.dataset.sort;
    state.sort = state.sort === name ? `-${name}` : name;
    for (const other of document.querySelectorAll("th[data-sort]")) other.removeAttribute("aria-sort");
    // natural order: largest first, except end_at (soonest first)
    const natural = name === "end_at" ? "ascending" : "descending";
    const reversed = natural === "ascending" ? "descending" : "ascending";
    th.setAttribute("aria-sort", state.sort.startsWith("-") ? reversed : natural);
    state.q = "";
    restart();
  });
}

document.getElementById("next").addEventListener("click", () => {
  if (!state.next) return;
  state.page += 1;
  state.cursors[state.page] = state.next;
  load().catch(fail);
});
document.getElementById("prev").addEventListener("click", () => {
  if (state.page === 0) return;
  state.page -= 1;
  load().catch(fail);
});

const PRESETS = {
  closing: { closing: "7", sort: "end_at" },
  coinflip: { min_price: "40", max_price: "60" },
  longshot: { max_price: "10" },
  movers: { sort: "change_24h" },
  reset: {},
};
for (const b of document.querySelectorAll("[data-preset]")) {
  b.addEventListener("click", () => {
    const preset = PRESETS[b.dataset.preset];
    const form = document.getElementById("filters");
    for (const name of ["venue", "category", "min_volume", "closing", "min_price", "max_price"]) form.elements[name].value = "";
    form.elements.status.value = "open";
    for (const [k, v] of Object.entries(preset)) if (k !== "sort") form.elements[k].value = v;
    state.sort = preset.sort || "volume_24h";
    for (const th of document.querySelectorAll("th[data-sort]")) {
      if (th.dataset.sort === state.sort) th.setAttribute("aria-sort", state.sort === "end_at" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
    state.q = "";
    document.getElementById("q").value = "";
    restart();
  });
}

// Search: suggestions as you type (debounced), the full results on submit.
const q = document.getElementById("q");
const list = document.getElementById("suggestions");
let typing = null;
q.addEventListener("input", () => {
  clearTimeout(typing);
  const text = q.value.trim();
  if (text.length < 2) {
    list.hidden = true;
    return;
  }
  typing = setTimeout(async () => {
    try {
      const data = await api(`/v1/search?${new URLSearchParams({ q: text, limit: "6", status: "any" })}`);
      list.replaceChildren(...data.data.map((m) => {
        const li = document.createElement("li");
        li.append(marketLink(m), document.createTextNode(` · ${m.venue} · ${cents(priceOf(m))}`));
        return li;
      }));
      list.hidden = data.data.length === 0;
    } catch (e) {
      fail(e);
    }
  }, 150);
});
q.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape") list.hidden = true;
  if (ev.key === "ArrowDown" && !list.hidden) {
    ev.preventDefault();
    const first = list.querySelector("a");
    if (first) first.focus();
  }
});
list.addEventListener("keydown", (ev) => {
  const links = [...list.querySelectorAll("a")];
  const at = links.indexOf(document.activeElement);
  if (ev.key === "ArrowDown" && at < links.length - 1) { ev.preventDefault(); links[at + 1].focus(); }
  else if (ev.key === "ArrowUp") { ev.preventDefault(); (at > 0 ? links[at - 1] : q).focus(); }
  else if (ev.key === "Escape") { list.hidden = true; q.focus(); }
});
document.getElementById("search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  list.hidden = true;
  state.q = q.value.trim();
  restart();
});
document.getElementById("clear-search").addEventListener("click", () => {
  q.value = "";
  list.hidden = true;
  state.q = "";
  restart();
});

async function fillChoices() {
  const [venues, stats] = await Promise.all([api("/v1/venues"), api("/v1/stats")]);
  const select = document.getElementById("f-venue");
  for (const v of venues.venues.filter((x) => x.enabled || x.markets)) {
    const o = document.createElement("option");
    o.value = v.name;
    o.textContent = v.name;
    select.append(o);
  }
  document.getElementById("categories").replaceChildren(...stats.categories.filter((c) => c.category).map((c) => {
    const o = document.createElement("option");
    o.value = c.category;
    return o;
  }));
}

const initial = new URLSearchParams(location.search).get("q");
if (initial) {
  q.value = initial;
  state.q = initial;
}
Promise.all([fillChoices(), load()]).catch(fail);
