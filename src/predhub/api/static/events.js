// Events: the list by total volume, with filters and keyset pages.
import { api, shell, setAsOf, td, fmt, usd, fail, notice, ageEl } from "/static/common.js";

shell("Events", { live: "no prices here: read on load" });
const main = document.getElementById("main");
main.innerHTML = `
<h1>Events</h1>
<form class="filters" id="filters">
  <label for="f-venue">Venue<select id="f-venue" name="venue"><option value="">any</option></select></label>
  <label for="f-status">Status<select id="f-status" name="status"><option value="">any</option>
    <option value="open" selected>open</option><option value="closed">closed</option><option value="resolved">resolved</option></select></label>
  <label for="f-category">Category<input id="f-category" name="category" size="12"></label>
  <button type="submit" class="primary">Apply filters</button>
</form>
<div class="scroll"><table id="events"><thead><tr>
  <th>Event</th><th>Venue</th><th>Category</th><th class="num">Markets</th><th class="num">Total volume</th><th>Ends</th>
</tr></thead><tbody></tbody></table></div>
<nav class="pager" aria-label="Pages"><button type="button" id="prev">Previous page</button>
  <span id="pageno" class="muted">page 1</span><button type="button" id="next">Next page</button></nav>
<p class="muted">Listed <span id="listed"></span>.</p>`;

const state = { cursors: [null], page: 0, next: null };

async function load() {
  const form = document.getElementById("filters");
  const p = new URLSearchParams({ limit: "50" });
  for (const name of ["venue", "status", "category"]) if (form.elements[name].value.trim()) p.set(name, form.elements[name].value.trim());
  if (state.cursors[state.page]) p.set("cursor", state.cursors[state.page]);
  const data = await api(`/v1/events?${p}`);
  // the list has no stamp of its own: it is as of the moment it was read
  const read = new Date().toISOString();
  setAsOf(read, "read");
  document.getElementById("listed").replaceChildren(ageEl(read, { staleAfter: Infinity }));
  state.next = data.next_cursor;
  const body = document.querySelector("#events tbody");
  body.replaceChildren(...data.data.map((e) => {
    const tr = document.createElement("tr");
    const a = document.createElement("a");
    a.href = `/event?id=${e.id}`;
    a.textContent = e.title;
    tr.append(td(a), td(e.venue), td(e.category || "–"), td(fmt(e.market_count), "num"), td(usd(e.volume_total), "num"),
      td(e.end_at ? e.end_at.slice(0, 10) : "–"));
    return tr;
  }));
  if (!data.data.length) {
    const tr = document.createElement("tr");
    const cell = td("No event matches.", "muted");
    cell.colSpan = 6;
    tr.append(cell);
    body.append(tr);
  }
  document.getElementById("pageno").textContent = `page ${state.page + 1}`;
  document.getElementById("prev").disabled = state.page === 0;
  document.getElementById("next").disabled = !state.next;
  notice(null);
}

document.getElementById("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.cursors = [null];
  state.page = 0;
  load().catch(fail);
});
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

async function venues() {
  const data = await api("/v1/venues");
  const select = document.getElementById("f-venue");
  for (const v of data.venues.filter((x) => x.enabled || x.markets)) {
    const o = document.createElement("option");
    o.value = v.name;
    o.textContent = v.name;
    select.append(o);
  }
}
Promise.all([venues(), load()]).catch(fail);
