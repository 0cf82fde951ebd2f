// Status: readiness, the database's size, freshness tiers, and per venue: budget use,
// jobs, recent sync errors, quarantine and staleness per priority (GET /v1/status), then
// the gold layer's stamps and each upkeep job's last run. Error and quarantine texts come
// only with an admin key on a hub that has keys: the one typed here stays in this tab's
// memory and goes with every status read as X-API-Key.
import { api, shell, setAsOf, td, ageEl, fmt, usd, fail, notice } from "/static/common.js";

shell("Status", { live: "read every 10 s" });
const main = document.getElementById("main");
const table = (id, heads) =>
  `<div class="scroll"><table id="${id}"><thead><tr>${heads
    .map(([label, num]) => `<th${num ? ' class="num"' : ""}>${label}</th>`)
    .join("")}</tr></thead><tbody></tbody></table></div>`;
const section = (id, title, body) =>
  `<section class="card" id="${id}" aria-labelledby="h-${id}"><h2 id="h-${id}">${title}</h2>${body}</section>`;

main.innerHTML = `
<h1>Status</h1>
<div class="grid">
  ${section("ready-card", "Readiness and database", '<div id="ready" class="kv"></div>')}
  ${section("tiers-card", "Freshness tiers (maximum age)", table("tiers", [["Tier"], ["Max age", 1]]))}
</div>
${section("budget", "Budget use per venue", table("budget-table", [["Venue"], ["Requests this minute", 1], ["Budget / min", 1],
  ["Used", 1], ["Requests 1 h", 1], ["Errors 1 h", 1], ["Retries 1 h", 1]]))}
<div class="grid">
  ${section("jobs", "Jobs per venue", table("jobs-table", [["Venue"], ["Queued", 1], ["Running", 1], ["Failed", 1]]))}
  ${section("quarantine", "Quarantine", table("quarantine-table", [["Venue"], ["Items", 1], ["Latest"], ["Endpoint"], ["Reason"]]))}
</div>
<form class="filters" id="details-form">
  <label for="admin-key">Admin key (shows error texts)<input id="admin-key" type="password" autocomplete="off" size="18"></label>
  <button type="submit">Show texts</button></form>
<p id="details-note" role="status" aria-live="polite" class="muted"></p>
${section("errors", "Recent sync errors", table("errors-table", [["When"], ["Venue"], ["Job"], ["Status"], ["Attempts", 1], ["Error"]]))}
${section("staleness", "Staleness per venue and priority (open markets' quotes)", table("staleness-table", [["Venue"], ["Priority"],
  ["Markets", 1], ["Open", 1], ["Never quoted", 1], ["Newest quote"], ["Quote age p50", 1], ["p90", 1], ["Measured"], ["Newest trade"]]))}
<div class="grid">
  ${section("gold", "Gold layer per venue", table("gold-table", [["Venue"], ["Markets", 1], ["24 h volume", 1], ["Newest observation"], ["Refreshed"]]))}
  ${section("upkeep", "Upkeep: last runs", table("upkeep-table", [["Job"], ["Last run"], ["Rows", 1]]))}
</div>
<p class="muted">The same figures from a shell: <code>predhub status</code>; metrics at <a href="/metrics">/metrics</a>.</p>`;

const rowOf = (...cells) => {
  const tr = document.createElement("tr");
  tr.append(...cells);
  return tr;
};
const fill = (id, rows, span, empty) => {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows);
  if (!rows.length) {
    const cell = td(empty, "muted");
    cell.colSpan = span;
    body.append(rowOf(cell));
  }
};
let adminKey = "";
const hiddenText = "hidden (admin key)";
const seconds = (v) => (v == null ? "–" : `${fmt(v, v < 10 ? 1 : 0)} s`);

/** Binary size: 123456789 -> "117.7 MiB". */
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function readiness(ready, venues, status) {
  const box = document.getElementById("ready");
  box.replaceChildren();
  const add = (k, v) => {
    const dt = document.createElement("span");
    dt.className = "muted";
    dt.textContent = k;
    const dd = document.createElement("span");
    if (v instanceof Node) dd.append(v);
    else dd.textContent = v;
    box.append(dt, dd);
  };
  add("status", ready.status);
  for (const [k, v] of Object.entries(ready.details || {})) add(k.replace(/_/g, " "), Array.isArray(v) ? v.join(", ") : String(v));
  add("database size", bytes(status.database.size_bytes));
  add("database-only mode", venues.database_only_mode ? "yes (no refresh from venues)" : "no");
}

function draw(status, venues, stats) {
  document.querySelector("#tiers tbody").replaceChildren(...Object.entries(venues.tiers || {}).map(([name, age]) =>
    rowOf(td(name), td(`${fmt(age, 1)} s`, "num"))));
  const shown = status.venues.filter((v) => v.enabled || v.freshness || v.jobs.queued || v.quarantine.count);
  fill("budget-table", shown.map((v) => {
    const used = v.budget_per_minute ? v.requests_last_minute / v.budget_per_minute : null;
    const meter = document.createElement("meter");
    meter.min = 0;
    meter.max = 1;
    meter.value = used ?? 0;
    meter.high = 0.9;
    meter.setAttribute("aria-label", `${v.venue} budget used this minute`);
    const cell = td(meter, "num");
    cell.append(` ${used == null ? "–" : fmt(used * 100, 0) + " %"}`);
    return rowOf(td(v.venue), td(fmt(v.requests_last_minute), "num"), td(fmt(v.budget_per_minute), "num"), cell,
      td(fmt(v.requests_last_hour), "num"), td(fmt(v.errors_last_hour), v.errors_last_hour ? "num down" : "num"),
      td(fmt(v.retries_last_hour), "num"));
  }), 7, "No venue enabled.");
  fill("jobs-table", shown.map((v) => rowOf(td(v.venue), td(fmt(v.jobs.queued), "num"), td(fmt(v.jobs.running), "num"),
    td(fmt(v.jobs.failed), v.jobs.failed ? "num down" : "num"))), 4, "No venue enabled.");
  fill("quarantine-table", shown.map((v) => {
    const q = v.quarantine;
    const latest = q.latest;
    return rowOf(td(v.venue), td(fmt(q.count), "num"), td(latest ? ageEl(latest.at, { staleAfter: Infinity }) : "–"),
      td(latest ? latest.endpoint + (latest.item_id ? ` · ${latest.item_id}` : "") : "–"), td(latest ? latest.reason ?? hiddenText : "–", latest && latest.reason == null ? "muted" : ""));
  }), 5, "No venue enabled.");
  const errors = status.venues.flatMap((v) => v.errors.map((e) => ({ venue: v.venue, ...e })))
    .sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, 20);
  fill("errors-table", errors.map((e) => rowOf(td(ageEl(e.at, { staleAfter: Infinity })), td(e.venue),
    td(`${e.kind} #${e.job_id}`), td(e.status === "failed" ? "gave up" : "to retry"), td(fmt(e.attempts), "num"),
    td(e.error ?? hiddenText, e.error == null ? "muted" : ""))), 6, "No sync error recorded.");
  const stale = [];
  for (const v of status.venues) {
    const rows = v.freshness ? [{ priority: "all", ...v.freshness }, ...v.priorities] : [];
    for (const f of rows) {
      const tr = rowOf(td(v.venue), td(f.priority), td(fmt(f.markets), "num"), td(fmt(f.open_markets), "num"),
        td(fmt(f.never_quoted), "num"), td(ageEl(f.newest_quote_at)), td(seconds(f.quote_age_p50), "num"),
        td(seconds(f.quote_age_p90), "num"), td(ageEl(f.measured_at, { staleAfter: 900 })),
        td(ageEl(f.newest_trade_at, { staleAfter: 86400 })));
      if (f.priority === "all") tr.className = "total";
      stale.push(tr);
    }
  }
  fill("staleness-table", stale, 10, "No market folded into gold yet.");
  fill("gold-table", stats.venues.map((v) => rowOf(td(v.venue), td(fmt(v.markets), "num"), td(usd(v.volume_24h), "num"),
    td(ageEl(v.newest_as_of)), td(ageEl(v.refreshed_at, { staleAfter: 900 })))), 5, "No gold refresh yet.");
  fill("upkeep-table", status.upkeep.map((u) => rowOf(td(u.name), td(u.last_run_at ? ageEl(u.last_run_at, { staleAfter: Infinity }) : "never"),
    td(fmt(u.rows), "num"))), 3, "No upkeep has run yet.");
}

async function readStatus() {
  if (!adminKey) return api("/v1/status");
  try {
    return await api("/v1/status", { headers: { "X-API-Key": adminKey } });
  } catch (e) {
    if (e.status !== 401 && e.status !== 403) throw e;
    adminKey = "";  // a wrong key: say so, and go on with what anyone may see
    document.getElementById("details-note").textContent = `The key was refused: ${e.message}`;
    return api("/v1/status");
  }
}

async function load() {
  const [status, venues, stats] = await Promise.all([readStatus(), api("/v1/venues"), api("/v1/stats")]);
  let ready;
  try {
    ready = await api("/readyz");
  } catch (e) {
    ready = { status: `not ready: ${e.message}`, details: {} };
  }
  readiness(ready, venues, status);
  draw(status, venues, stats);
  document.getElementById("details-form").hidden = !status.details_hidden && !adminKey;
  if (status.details_hidden && !document.getElementById("details-note").textContent) {
    document.getElementById("details-note").textContent =
      "Error and quarantine texts are shown with an admin key only.";
  } else if (!status.details_hidden) {
    document.getElementById("details-note").textContent = adminKey ? "Texts shown with the admin key." : "";
  }
  setAsOf(status.as_of, "/v1/status");
  notice(null);
}

document.getElementById("details-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  adminKey = document.getElementById("admin-key").value.trim();
  document.getElementById("details-note").textContent = "";
  load().catch(fail);
});

load().catch(fail);
setInterval(() => load().catch(fail), 10000);
