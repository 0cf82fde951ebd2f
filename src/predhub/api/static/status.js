// Status: readiness, the freshness tiers, staleness per venue, and the gold layer's stamps.
import { api, shell, setAsOf, td, ageEl, fmt, usd, fail, notice } from "/static/common.js";

shell("Status");
const main = document.getElementById("main");
main.innerHTML = `
<h1>Status</h1>
<div class="grid">
  <section class="card" aria-labelledby="h-ready"><h2 id="h-ready">Readiness</h2><div id="ready" class="kv"></div></section>
  <section class="card" aria-labelledby="h-tiers"><h2 id="h-tiers">Freshness tiers (maximum age)</h2>
    <div class="scroll"><table id="tiers"><thead><tr><th>Tier</th><th class="num">Max age</th></tr></thead><tbody></tbody></table></div></section>
</div>
<section class="card" aria-labelledby="h-stale"><h2 id="h-stale">Staleness per venue</h2>
  <div class="scroll"><table id="staleness"><thead><tr>
    <th>Venue</th><th>Enabled</th><th class="num">Markets</th><th class="num">Open</th><th class="num">Hot</th>
    <th>Newest quote</th><th class="num">Open quote age p50</th><th class="num">p90</th><th>Newest metadata</th>
  </tr></thead><tbody></tbody></table></div></section>
<section class="card" aria-labelledby="h-gold"><h2 id="h-gold">Gold layer per venue</h2>
  <div class="scroll"><table id="gold"><thead><tr>
    <th>Venue</th><th class="num">Markets</th><th class="num">24 h volume</th><th>Newest observation</th><th>Refreshed</th>
  </tr></thead><tbody></tbody></table></div></section>
<p class="muted">Budgets, jobs, errors and quarantine: <code>predhub status</code> on the worker's host; metrics at <a href="/metrics">/metrics</a>.</p>`;

async function load() {
  const [venues, stats] = await Promise.all([api("/v1/venues"), api("/v1/stats")]);
  let ready;
  try {
    ready = await api("/readyz");
  } catch (e) {
    ready = { status: `not ready: ${e.message}`, details: {} };
  }
  const box = document.getElementById("ready");
  box.replaceChildren();
  const add = (k, v) => {
    const dt = document.createElement("span");
    dt.className = "muted";
    dt.textContent = k;
    const dd = document.createElement("span");
    dd.textContent = v;
    box.append(dt, dd);
  };
  add("status", ready.status);
  for (const [k, v] of Object.entries(ready.details || {})) add(k.replace(/_/g, " "), Array.isArray(v) ? v.join(", ") : String(v));
  add("database-only mode", venues.database_only_mode ? "yes (no refresh from venues)" : "no");
  document.querySelector("#tiers tbody").replaceChildren(...Object.entries(venues.tiers || {}).map(([name, age]) => {
    const tr = document.createElement("tr");
    tr.append(td(name), td(`${fmt(age, 1)} s`, "num"));
    return tr;
  }));
  document.querySelector("#staleness tbody").replaceChildren(...venues.venues.map((v) => {
    const tr = document.createElement("tr");
    tr.append(td(v.name), td(v.enabled ? "yes" : "no"), td(fmt(v.markets), "num"), td(fmt(v.open_markets), "num"),
      td(fmt(v.hot_markets), "num"), td(ageEl(v.newest_quote_at)),
      td(v.open_quote_age_p50 == null ? "–" : `${fmt(v.open_quote_age_p50, 1)} s`, "num"),
      td(v.open_quote_age_p90 == null ? "–" : `${fmt(v.open_quote_age_p90, 1)} s`, "num"),
      td(ageEl(v.newest_metadata_at, { staleAfter: 86400 })));
    return tr;
  }));
  document.querySelector("#gold tbody").replaceChildren(...stats.venues.map((v) => {
    const tr = document.createElement("tr");
    tr.append(td(v.venue), td(fmt(v.markets), "num"), td(usd(v.volume_24h), "num"), td(ageEl(v.newest_as_of)),
      td(ageEl(v.refreshed_at, { staleAfter: 900 })));
    return tr;
  }));
  setAsOf(stats.as_of, "/v1/stats");
  notice(null);
}

load().catch(fail);
setInterval(() => load().catch(fail), 10000);
