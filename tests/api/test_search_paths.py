"""Search reads a word's busiest markets by key, and the text index only when they fall short.

The plans are read with `EXPLAIN (ANALYZE)` on a real PostgreSQL: the point is which
index a search reads and how much of it, whatever the word's match count. The worker
keeps the lists from the change stream (`search_words.keep`), run here where a test
needs them current; a market not yet listed is found through the text index.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from predhub.db import search_words
from predhub.db.queries import load
from predhub.service import catalog
from predhub.service.testing import SeedMarket, seed_market
from predhub.venues.descriptor import venue_names

_SEARCH = load("service_catalog").search
_EVERY = (
    "SELECT m.id FROM silver.markets m, websearch_to_tsquery('english', $1) q"
    " WHERE m.search_vector @@ q AND m.status = 'open'"
    " ORDER BY ts_rank(m.search_vector, q) DESC, m.volume_24h DESC NULLS LAST, m.id"
)


async def _seed_many(conn: asyncpg.Connection, n: int, question: str, top: float) -> None:
    """`n` open markets asking `question` (with their number), busiest first."""
    await conn.execute(
        "INSERT INTO silver.markets (venue, native_id, question, status, volume_24h)"
        " SELECT 'polymarket', $1 || k, $2 || ' case ' || k, 'open', $3::numeric - k"
        " FROM generate_series(1, $4) k",
        question[:12],
        question,
        top,
        n,
    )


_COUNTERS = (
    "SELECT relname, pg_stat_get_xact_numscans(oid) AS scans,"
    " pg_stat_get_xact_tuples_returned(oid) AS entries FROM pg_class"
    " WHERE oid = 'silver.search_words_walk'::regclass"
)


async def _reads(conn: asyncpg.Connection, word: str, walk: int) -> dict[str, tuple[int, int]]:
    """Scans of the lists' index, and entries read from it, by one search."""
    async with conn.transaction():  # the backend's own counters, unflushed inside it
        before = {r["relname"]: (r["scans"], r["entries"]) for r in await conn.fetch(_COUNTERS)}
        await conn.fetch(_SEARCH, word, list(venue_names()), ["open"], 1000, walk, 21, 0)
        after = {r["relname"]: (r["scans"], r["entries"]) for r in await conn.fetch(_COUNTERS)}
    return {k: (v[0] - before[k][0], v[1] - before[k][1]) for k, v in after.items()}


async def test_a_common_word_reads_its_list_not_the_text_index(conn: asyncpg.Connection) -> None:
    # Fresh from a bulk insert, as after a load: no vacuum has set the visibility map,
    # so the planner would rather read a word's whole list as a bitmap and sort it.
    await _seed_many(conn, 3000, "Will the index close higher in January", 1e6)
    await conn.execute(
        "INSERT INTO silver.markets (venue, native_id, question, volume_24h)"
        " VALUES ('polymarket', 'rare', 'Will Ostrava win the cup?', 1)"
    )
    await search_words.keep(conn)
    await conn.execute("ANALYZE silver.markets")
    await conn.execute("ANALYZE silver.search_words")
    venues = len(venue_names())

    # one range per venue (one word, one status), the one holding the word cut at 50
    # of its 3,000 entries; the text index is not read
    common = await _reads(conn, "January", 50)
    assert common["search_words_walk"] == (venues, 50)
    assert await _text_index_reads(conn, "January") == 0  # never executed

    # a rare word's list holds its one market, fewer than the page: the text index too
    rare = await _reads(conn, "Ostrava", 50)
    assert rare["search_words_walk"] == (venues, 1)
    assert await _text_index_reads(conn, "Ostrava") == 1

    # the page is ranking every match's first page (the list's order is the volume's here)
    every = [r["id"] for r in await conn.fetch(_EVERY, "January")]
    page = await conn.fetch(_SEARCH, "January", list(venue_names()), ["open"], 1000, 50, 21, 0)
    assert [r["id"] for r in page] == every[:21]


async def test_candidates_are_read_by_key_whatever_the_planner_guesses(
    conn: asyncpg.Connection,
) -> None:
    # With the candidates joined to the `@@` test in one step, a planner that guessed
    # the word's matches few (it did, for a word in 21,000 of 55,000 markets) read
    # every match through the text index and hashed them against the candidates.
    # Hash joins are all a planner without nested loops can choose: the candidates
    # must still come by key.
    await _seed_many(conn, 3000, "Will the index close higher in January", 1e6)
    await search_words.keep(conn)
    await conn.execute("ANALYZE silver.markets")
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_nestloop = off")
        plan = await _search_plan(conn, "January")
    on_markets = [
        n for n in _nodes(plan) if n.get("Relation Name") == "markets" and n.get("Actual Loops")
    ]
    assert on_markets, "the search read no market"
    assert {n["Node Type"] for n in on_markets} == {"Index Scan"}
    assert {n["Index Name"] for n in on_markets} == {"markets_pkey"}
    assert sum(n["Actual Rows"] * n["Actual Loops"] for n in on_markets) == 50


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("Plans", []):
        out += _nodes(child)
    return out


async def _search_plan(conn: asyncpg.Connection, word: str) -> dict[str, Any]:
    """The executed plan of a search for `word` among open markets (a walk of 50, a page of 21)."""
    raw = await conn.fetchval(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {_SEARCH}",
        word,
        list(venue_names()),
        ["open"],
        1000,
        50,
        21,
        0,
    )
    plan: dict[str, Any] = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return plan


async def _text_index_reads(conn: asyncpg.Connection, word: str) -> int:
    """How many times the search read the text index (silver.search_matches), by its plan."""
    plan = await _search_plan(conn, word)
    calls = [n for n in _nodes(plan) if n.get("Function Name") == "search_matches"]
    assert len(calls) == 1
    return int(calls[0]["Actual Loops"])


async def test_question_words_come_before_event_title_words(
    client: httpx.AsyncClient, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20 busy markets carry "election" in their event's title only, 3 quiet ones in
    # their question: the lists put the question's first, so a walk of 6 finds them.
    monkeypatch.setattr(catalog, "SEARCH_WORD_WALK", 6)
    titled = [
        await seed_market(
            conn,
            SeedMarket(
                native_id=f"t{k}",
                question=f"Will turnout pass {50 + k} percent?",
                event_native_id="ev-el",
                event_title="Election night",
                volume_24h=100_000.0 - k,
            ),
        )
        for k in range(20)
    ]
    asked = [
        await seed_market(
            conn,
            SeedMarket(
                native_id=f"q{k}", question=f"Will the election be called by {k} pm?", volume_24h=k
            ),
        )
        for k in range(1, 4)
    ]
    await search_words.keep(conn)
    every = [r["id"] for r in await conn.fetch(_EVERY, "election")]
    assert every[:3] == asked[::-1] and every[3] == titled[0]
    hits = (await client.get("/v1/search", params={"q": "election", "limit": 5})).json()["data"]
    assert [h["id"] for h in hits] == every[:5]


async def test_words_that_rarely_meet_fall_back_to_the_text_index(
    client: httpx.AsyncClient, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both words are common, and their one shared market is the quietest of all, past
    # both lists' first 10: the walk finds no market with both, the text index does.
    monkeypatch.setattr(catalog, "SEARCH_WORD_WALK", 10)
    await _seed_many(conn, 40, "Will alpha rise", 1e5)
    await _seed_many(conn, 40, "Will beta rise", 1e5)
    both = await seed_market(
        conn, SeedMarket(native_id="ab", question="Will alpha beat beta?", volume_24h=1.0)
    )
    await search_words.keep(conn)
    hits = (await client.get("/v1/search", params={"q": "alpha beta"})).json()["data"]
    assert [h["id"] for h in hits] == [both]
    # every query word matches every hit, whichever path found it
    alpha = (await client.get("/v1/search", params={"q": "alpha rise", "limit": 50})).json()
    assert len(alpha["data"]) == 40
    assert all({"alpha", "rise"} <= set(h["question"].lower().split()) for h in alpha["data"])
    assert (await client.get("/v1/search", params={"q": "alpha -beta"})).json()["data"]
    negated = (await client.get("/v1/search", params={"q": "alpha -rise"})).json()["data"]
    assert [h["id"] for h in negated] == [both]


async def test_a_market_not_yet_listed_is_found_through_the_text_index(
    client: httpx.AsyncClient, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lists are written by the worker after a market's write: until then a market
    # whose words are rare is found by the text index, and with its words listed, both
    # paths give the same page.
    monkeypatch.setattr(catalog, "SEARCH_WORD_WALK", 10)
    await _seed_many(conn, 40, "Will gamma rise", 1e5)
    await search_words.keep(conn)
    new = await seed_market(
        conn, SeedMarket(native_id="new", question="Will Ostrava host gamma?", volume_24h=1e6)
    )
    assert (
        await conn.fetchval("SELECT count(*) FROM silver.search_words WHERE market_id = $1", new)
        == 0
    )
    hits = (await client.get("/v1/search", params={"q": "ostrava"})).json()["data"]
    assert [h["id"] for h in hits] == [new]
    before = [
        h["id"]
        for h in (await client.get("/v1/search", params={"q": "gamma ostrava"})).json()["data"]
    ]
    assert before == [new]
    # a common word's page is read from its list alone: the new market, busiest of all,
    # is not on it until the reader ran (one upkeep round)
    gamma = (await client.get("/v1/search", params={"q": "gamma", "limit": 5})).json()["data"]
    assert new not in [h["id"] for h in gamma]
    kept = await search_words.keep(conn)
    assert kept.markets == 1 and kept.inserted > 0
    # now listed, and the busiest of its common word: first of that word's page
    gamma = (await client.get("/v1/search", params={"q": "gamma", "limit": 5})).json()["data"]
    assert gamma[0]["id"] == new
    hits = (await client.get("/v1/search", params={"q": "ostrava"})).json()["data"]
    assert [h["id"] for h in hits] == [new]
