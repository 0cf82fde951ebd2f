// Shared by every dashboard page: API calls, ages that keep counting, "Data as of",
// the live feed over the WebSocket with its polling fallback, and small formatters.
// Plain ES module, no build step: the pages import it as /static/common.js.

const PAGES = [
  ["/", "Home"],
  ["/markets", "Markets"],
  ["/events", "Events"],
  ["/arbitrage", "Arbitrage & matches"],
  ["/status", "Status"],
];

// Server clock minus ours, from the Date header of the API's answers (1 s resolution):
// ages are measured against the server's clock, so a skewed laptop does not show
// fresh data as old. Ignored below 2 s, which is the header's own precision.
let skewMs = 0;

/** Now, on the server's clock, in milliseconds. */
export const now = () => Date.now() + skewMs;

/** GET (or send) JSON from the API; errors carry the API's message. */
export async function api(path, init) {
  // never from the browser's cache: a price answer may be cached for what is left of
  // its tier (max-age), and even a revalidated copy (304) keeps the old answer's
  // age and stale flag, which the ETag leaves out; a page that shows "now" (and its
  // polling when the socket drops) reads every answer afresh
  const r = await fetch(path, { cache: "no-store", ...init });
  const date = Date.parse(r.headers.get("date") || "");
  if (!Number.isNaN(date)) {
    const skew = date - Date.now();
    skewMs = Math.abs(skew) > 2000 ? skew : 0;
  }
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!r.ok) {
    const msg = body && body.error ? body.error.message : `${r.status} ${r.statusText}`;
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return body;
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago" from an ISO time. */
export function ago(iso) {
  if (!iso) return "–";
  const s = Math.max(0, (now() - Date.parse(iso)) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A duration in words: 600 -> "10 min", 86400 -> "1 d". */
function span(s) {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** "2026-12-01 18:20:03 UTC" */
export function utc(iso) {
  if (!iso) return "–";
  return new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** Seconds since an ISO time, on the server's clock. */
export const ageSeconds = (iso) => (iso ? (now() - Date.parse(iso)) / 1000 : Infinity);

// A quote older than this is marked stale when the API does not say so itself.
export const STALE_AFTER_S = 600;

/** A <span> whose text is the age of `iso` and keeps counting; stale ones are marked. */
export function ageEl(iso, { staleAfter = STALE_AFTER_S, reason = null } = {}) {
  const span = document.createElement("span");
  span.className = "age";
  span.dataset.ts = iso || "";
  span.dataset.staleAfter = String(staleAfter);
  if (reason) span.dataset.reason = reason;
  if (iso) span.title = utc(iso);
  tickOne(span);
  return span;
}

function tickOne(el) {
  const iso = el.dataset.ts;
  const after = Number(el.dataset.staleAfter || STALE_AFTER_S);
  const stale = !iso || ageSeconds(iso) > after || Boolean(el.dataset.reason);
  let text = ago(iso);
  if (stale && iso) text += ` · stale: ${el.dataset.reason || `over ${span(after)} old`}`;
  if (el.textContent !== text) el.textContent = text;
  el.classList.toggle("stale", stale && Boolean(iso));
}

function tickAll() {
  for (const el of document.querySelectorAll(".age")) tickOne(el);
  const asof = document.getElementById("asof-age");
  if (asof && asof.dataset.ts) asof.textContent = ago(asof.dataset.ts);
}

/** The page's "Data as of": absolute UTC time and an age that keeps counting. */
export function setAsOf(iso, source) {
  if (!iso) {
    // an empty answer has no stamp: it is as of its reading
    iso = new Date(now()).toISOString();
    source = "read";
  }
  const abs = document.getElementById("asof-time");
  const rel = document.getElementById("asof-age");
  abs.textContent = utc(iso);
  abs.dateTime = iso || "";
  rel.dataset.ts = iso || "";
  rel.textContent = ago(iso);
  document.getElementById("asof").dataset.source = source || "";
}

/** Show (or clear, with null) the notice line under the header. */
export function notice(text, kind = "warn") {
  const el = document.getElementById("notice");
  el.textContent = text || "";
  el.className = text ? `notice ${kind}` : "notice";
  el.hidden = !text;
}

/**
 * Header with navigation, "Data as of" and the live status; called once per page.
 * `live` is the status a page without a live feed shows instead of "connecting…"
 * (how it keeps itself current).
 */
export function shell(title, { live = "connecting…" } = {}) {
  document.title = `${title} · predhub`;
  const header = document.createElement("header");
  // keyboard users reach the page's own controls without tabbing through the navigation
  const skip = document.createElement("a");
  skip.href = "#main";
  skip.className = "skip";
  skip.textContent = "Skip to content";
  skip.addEventListener("click", (ev) => {
    ev.preventDefault();
    document.getElementById("main").focus();
  });
  const nav = document.createElement("nav");
  nav.setAttribute("aria-label", "Pages");
  const brand = document.createElement("a");
  brand.href = "/";
  brand.className = "brand";
  brand.textContent = "predhub";
  nav.append(brand);
  for (const [href, label] of PAGES) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    if (location.pathname === href) a.setAttribute("aria-current", "page");
    nav.append(a);
  }
  const docs = document.createElement("a");
  docs.href = "/docs";
  docs.textContent = "API";
  nav.append(docs);
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.innerHTML =
    '<span id="asof">Data as of <time id="asof-time">–</time> (<span id="asof-age">–</span>)</span>' +
    ' · <span id="live" role="status" aria-live="polite"></span>';
  meta.querySelector("#live").textContent = live;
  header.append(skip, nav, meta);
  const note = document.createElement("div");
  note.id = "notice";
  note.className = "notice";
  note.setAttribute("role", "alert");
  note.hidden = true;
  document.body.prepend(header, note);
  setInterval(tickAll, 1000);
}

/**
 * Follow markets over the WebSocket; when it drops, say so, poll `poll()` every
 * `pollMs` and keep trying to reconnect. `handlers.quote(marketId, doc)`,
 * `handlers.trades(marketId, trades)`, `handlers.arbitrage(msg)` receive pushes.
 */
export class LiveFeed {
  constructor({ markets = [], topics = [], handlers = {}, poll = null, pollMs = 5000 }) {
    this.markets = markets.map(String);
    this.topics = topics;
    this.handlers = handlers;
    this.poll = poll;
    this.pollMs = pollMs;
    this.timer = null;
    this.retryMs = 1000;
    this.connected = false;
    this.healthy = false;
    this.connect();
  }

  status(text) {
    const el = document.getElementById("live");
    if (el) el.textContent = text;
  }

  follow(ids) {
    const fresh = ids.map(String).filter((id) => !this.markets.includes(id));
    this.markets.push(...fresh);
    if (this.connected && fresh.length) this.ws.send(JSON.stringify({ op: "subscribe", markets: fresh }));
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try {
      ws = new WebSocket(`${proto}://${location.host}/v1/ws`);
    } catch {
      this.dropped();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.connected = true;
      this.retryMs = 1000;
      if (this.markets.length) ws.send(JSON.stringify({ op: "subscribe", markets: this.markets.slice(0, 1000) }));
      if (this.topics.length) ws.send(JSON.stringify({ op: "subscribe", topics: this.topics }));
      ws.send(JSON.stringify({ op: "ping" }));
    };
    ws.onclose = () => {
      this.connected = false;
      this.healthy = false;
      this.dropped();
    };
    ws.onerror = () => {};
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (!this.healthy) {
        // the socket is live once the server answers, not when it merely opens
        this.healthy = true;
        if (this.timer) { clearInterval(this.timer); this.timer = null; }
        notice(null);
        this.status("live");
      }
      const h = this.handlers;
      if (msg.type === "quote" && h.quote) h.quote(msg.market_id, msg.data);
      else if (msg.type === "trades" && h.trades) h.trades(msg.market_id, msg.trades);
      else if (msg.type === "arbitrage" && h.arbitrage) h.arbitrage(msg);
      else if (msg.type === "heartbeat") this.status(`live · heartbeat ${ago(msg.ts)}`);
    };
  }

  dropped() {
    this.status("offline");
    if (this.poll && !this.timer) {
      notice(`Live updates lost: polling every ${this.pollMs / 1000} s until the connection returns.`);
      this.poll().catch(() => {});
      this.timer = setInterval(() => this.poll().catch(() => {}), this.pollMs);
    } else if (!this.poll) {
      notice("Live updates lost: reconnecting…");
    }
    setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 15000);
  }
}

/** Number with `d` decimals, or an en dash. */
export const fmt = (v, d = 0) =>
  v == null || Number.isNaN(Number(v)) ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** A price as cents: 0.634 -> "63.4¢". */
export const cents = (v) => (v == null ? "–" : `${(Number(v) * 100).toFixed(1)}¢`);

/** A move in points: 0.05 -> "+5.0 pts". */
export const points = (v) => (v == null ? "–" : `${v > 0 ? "+" : ""}${(Number(v) * 100).toFixed(1)} pts`);

/** Compact dollars: 12345 -> "$12.3k". */
export function usd(v) {
  if (v == null) return "–";
  const n = Number(v);
  const a = Math.abs(n);
  if (a >= 1e9) return `$${(n / 1e9).toFixed(1)}B`;
  if (a >= 1e6) return `$${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `$${(n / 1e3).toFixed(1)}k`;
  return `$${n.toFixed(0)}`;
}

/** The first outcome's price (or mid, or last). */
export function priceOf(m) {
  const o = (m && m.outcomes && m.outcomes[0]) || null;
  return o ? (o.price ?? o.mid ?? o.last ?? null) : null;
}

/** When a market's quotes were fetched (what row ages count from). */
export const fetchedOf = (m) => (m ? m.fetched_at || m.as_of || null : null);

/** The oldest of some ISO times (the page's data is as old as its oldest row). */
export function oldest(times) {
  const t = times.filter(Boolean).sort();
  return t.length ? t[0] : null;
}

/** <td> with text (or a node) and an optional class. */
export function td(content, cls) {
  const cell = document.createElement("td");
  if (content instanceof Node) cell.append(content);
  else cell.textContent = content == null ? "–" : String(content);
  if (cls) cell.className = cls;
  return cell;
}

/** A table's one row saying why it has no rows (class "empty", spanning `span` columns). */
export function emptyRow(span, text) {
  const tr = document.createElement("tr");
  tr.className = "empty";
  const cell = td(text, "muted");
  cell.colSpan = span;
  tr.append(cell);
  return tr;
}

/** A link to a market's page. */
export function marketLink(m) {
  const a = document.createElement("a");
  a.href = `/market?id=${encodeURIComponent(m.id)}`;
  a.textContent = m.question || `market ${m.id}`;
  return a;
}

/** Show an error in the notice line (pages keep what they already drew). */
export function fail(e) {
  notice(`Could not load data: ${e.message}`, "error");
}
