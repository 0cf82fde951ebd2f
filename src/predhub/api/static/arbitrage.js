// Arbitrage and matches: open opportunities (edge after fees, size, legs with their ages),
// live over the WebSocket's arbitrage topic; proposed matches to confirm or reject with an
// admin key the user types (kept in this tab's memory only, sent as X-API-Key).
import { api, shell, setAsOf, LiveFeed, td, emptyRow, ageEl, fmt, usd, cents, fail, notice } from "/static/common.js";

shell("Arbitrage & matches");
const main = document.getElementById("main");
main.innerHTML = `
<h1>Arbitrage and matches</h1>
<section class="card" aria-labelledby="h-arb"><h2 id="h-arb">Open opportunities</h2>
  <form class="filters" id="arb-filters">
    <label for="min-edge">Least edge after fees (¢)<input id="min-edge" type="number" min="0" max="100" step="any" size="5" value="0"></label>
    <label for="min-size">Least size (contracts)<input id="min-size" type="number" min="0" step="any" size="6" value="0"></label>
    <button type="submit" class="primary">Apply</button></form>
  <div class="scroll"><table id="arb"><thead><tr>
    <th class="num">Edge</th><th class="num">Size</th><th class="num">Profit</th><th>Legs</th><th>Risks</th><th>Oldest leg</th>
  </tr></thead><tbody></tbody></table></div></section>
<section class="card" aria-labelledby="h-matches"><h2 id="h-matches">Matches across venues</h2>
  <form class="filters" id="match-filters">
    <label for="m-status">Status<select id="m-status"><option value="proposed" selected>proposed</option>
      <option value="confirmed">confirmed</option><option value="rejected">rejected</option><option value="">any</option></select></label>
    <label for="admin-key">Admin key (needed to decide)<input id="admin-key" type="password" autocomplete="off" size="18"></label>
    <label for="decided-by">Your name<input id="decided-by" type="text" size="10" value="admin"></label>
    <button type="submit" class="primary">Show</button></form>
  <p id="decision" role="status" aria-live="polite" class="muted"></p>
  <div class="scroll"><table id="matches"><thead><tr>
    <th>Market A</th><th>Market B</th><th>Relation</th><th class="num">Confidence</th><th>Status</th><th>Notes</th><th>Decide</th>
  </tr></thead><tbody></tbody></table></div>
  <nav class="pager" aria-label="Match pages"><button type="button" id="more">More matches</button></nav></section>`;

function legsCell(legs) {
  const ul = document.createElement("ul");
  for (const leg of legs || []) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `/market?id=${leg.market_id}`;
    a.textContent = `${leg.venue} #${leg.market_id}`;
    li.append(`buy ${leg.side} `, a, ` at ${cents(leg.price)} · `, ageEl(leg.as_of, { staleAfter: 120 }));
    ul.append(li);
  }
  return ul;
}

function arbRow(o) {
  const tr = document.createElement("tr");
  tr.dataset.id = o.id;
  const oldestLeg = (o.legs || []).map((l) => l.as_of).sort()[0];
  tr.append(td(cents(o.edge), "num"), td(fmt(o.size, 0), "num"), td(usd(o.profit), "num"), td(legsCell(o.legs)),
    td((o.risks || []).join("; ") || "–"), td(ageEl(oldestLeg, { staleAfter: 120 })));
  return tr;
}

async function loadArbitrage() {
  const p = new URLSearchParams({
    min_edge: String(Number(document.getElementById("min-edge").value || 0) / 100),
    min_size: document.getElementById("min-size").value || "0",
  });
  const data = await api(`/v1/arbitrage?${p}`);
  setAsOf(data.as_of || data.refreshed_at, "/v1/arbitrage");
  const body = document.querySelector("#arb tbody");
  body.replaceChildren(...data.data.map(arbRow));
  if (!data.data.length) body.append(emptyRow(6, "No open opportunity after fees."));
}


function side(s) {
  const wrap = document.createElement("div");
  const a = document.createElement("a");
  a.href = `/market?id=${s.market_id}`;
  a.textContent = s.question;
  wrap.append(a, document.createElement("br"), `${s.venue} · ${s.status}${s.end_at ? " · ends " + s.end_at.slice(0, 10) : ""}`);
  return wrap;
}

let matchCursor = null;

function matchRow(m) {
  const tr = document.createElement("tr");
  tr.dataset.id = m.id;
  const decide = document.createElement("div");
  decide.className = "controls";
  for (const [op, label] of [["confirm", "Confirm"], ["reject", "Reject"]]) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.op = op;
    b.setAttribute("aria-label", `${label} match ${m.id}`);
    b.addEventListener("click", () => decideMatch(m.id, op, tr));
    decide.append(b);
  }
  const notes = Array.isArray(m.notes) ? m.notes.join("; ") : m.notes ? String(m.notes) : "–";
  tr.append(td(side(m.a)), td(side(m.b)), td(m.relation), td(fmt(m.confidence, 2), "num"), td(m.status, "status"),
    td(notes || "–"), td(decide));
  return tr;
}

async function loadMatches(more = false) {
  const p = new URLSearchParams({ limit: "25" });
  const status = document.getElementById("m-status").value;
  if (status) p.set("status", status);
  if (more && matchCursor) p.set("cursor", matchCursor);
  const data = await api(`/v1/matches?${p}`);
  matchCursor = data.next_cursor;
  document.getElementById("more").disabled = !matchCursor;
  const body = document.querySelector("#matches tbody");
  if (!more) body.replaceChildren();
  body.append(...data.data.map(matchRow));
  if (!body.children.length) body.append(emptyRow(7, "No match with this status."));
}

async function decideMatch(matchId, op, tr) {
  const key = document.getElementById("admin-key").value.trim();
  const line = document.getElementById("decision");
  if (!key) {
    line.textContent = "Type the admin key first.";
    document.getElementById("admin-key").focus();
    return;
  }
  try {
    const doc = await api(`/v1/matches/${matchId}/${op}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Key": key },
      body: JSON.stringify({ decided_by: document.getElementById("decided-by").value.trim() || "admin" }),
    });
    tr.replaceWith(matchRow(doc));
    line.textContent = `Match ${matchId} ${doc.status} by ${doc.decided_by}.`;
  } catch (e) {
    line.textContent = `Match ${matchId} not ${op}ed: ${e.message}`;
  }
}

document.getElementById("arb-filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  loadArbitrage().catch(fail);
});
document.getElementById("match-filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  loadMatches().catch(fail);
});
document.getElementById("more").addEventListener("click", () => loadMatches(true).catch(fail));

try {
  await Promise.all([loadArbitrage(), loadMatches()]);
  new LiveFeed({
    topics: ["arbitrage"],
    poll: loadArbitrage,
    handlers: { arbitrage: () => loadArbitrage().catch(() => {}) },
  });
  notice(null);
} catch (e) {
  fail(e);
}
