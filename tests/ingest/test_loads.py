"""The loads against the simulator over real HTTP, into a real PostgreSQL."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from predhub.ingest.pipeline import Ingestor
from predhub.ingest.store import Batch, write_batch
from predhub.models import Quote, Trade
from predhub.sim.testing import SimHandle
from predhub.venues.base import StreamUpdate, Venue
from predhub.venues.normalize import key_id, parse_page
from predhub.venues.polymarket import parse
from predhub.venues.registry import build_venue


@pytest.fixture
async def polymarket(sim: SimHandle) -> AsyncIterator[Venue]:
    venue = build_venue("polymarket", sim.settings())
    try:
        yield venue
    finally:
        await venue.close()


def _open_truth(sim: SimHandle, venue: str) -> dict[str, Any]:
    return {
        m["market"]: m
        for m in sim.truth(venue=venue, trades=False)["markets"]
        if m["status"] == "open"
    }


async def _content(pool: asyncpg.Pool) -> dict[str, list[Any]]:
    """Silver as data (sync stamps excluded) plus each row's xmin, to see rewrites."""
    out: dict[str, list[Any]] = {}
    for table, order in (
        ("events", "id"),
        ("markets", "id"),
        ("outcomes", "id"),
        ("quotes", "outcome_id"),
        ("trades", "id"),
    ):
        rows = await pool.fetch(f"SELECT xmin::text AS x, * FROM silver.{table} ORDER BY {order}")
        out[table] = [dict(r.items()) for r in rows]
    return out


async def test_static_load_equals_catalogue_and_rerun_changes_nothing(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool
) -> None:
    ingestor = Ingestor(pool, polymarket, sim.settings())
    first = await ingestor.static_load()
    truth = _open_truth(sim, "polymarket")
    rows = await pool.fetch(
        "SELECT m.native_id, m.question, m.status, m.event_native_id, m.event_id, "
        "m.bronze_id, s.quotes_synced_at, array_agg(o.token_id ORDER BY o.idx) AS tokens "
        "FROM silver.markets m JOIN silver.market_sync s ON s.market_id = m.id "
        "JOIN silver.outcomes o ON o.market_id = m.id GROUP BY m.id, s.quotes_synced_at"
    )
    assert {r["native_id"] for r in rows} == set(truth)
    for r in rows:
        t = truth[r["native_id"]]
        assert (r["question"], r["status"], r["event_native_id"]) == (
            t["question"],
            "open",
            t["event"],
        )
        assert r["tokens"] == [o["token_id"] for o in t["outcomes"]]
        assert r["event_id"] is not None and r["bronze_id"] is not None
        assert r["quotes_synced_at"] is not None
    quotes = await pool.fetch(
        "SELECT m.native_id, o.idx, q.best_bid, q.best_ask FROM silver.quotes q "
        "JOIN silver.outcomes o ON o.id = q.outcome_id JOIN silver.markets m ON m.id = q.market_id"
    )
    assert len(quotes) == 2 * len(truth)
    for q in quotes:
        t = truth[q["native_id"]]["outcomes"][q["idx"]]
        assert (q["best_bid"], q["best_ask"]) == (
            Decimal(str(t["best_bid"])),
            Decimal(str(t["best_ask"])),
        )
    assert first.inserted >= 3 * len(truth) and first.quarantined == 0
    assert first.requests > 0

    before = await _content(pool)
    synced_before = await pool.fetchval("SELECT max(metadata_synced_at) FROM silver.market_sync")
    bronze_before = await pool.fetchval("SELECT count(*) FROM bronze.api_responses")
    again = await ingestor.static_load()
    assert (again.inserted, again.updated, again.quarantined) == (0, 0, 0)
    assert again.unchanged == first.fetched
    # Not one silver row rewritten (their xmin unchanged): the rerun stamped the
    # markets' narrow sync rows alone, every one of them.
    assert await _content(pool) == before
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM silver.market_sync WHERE metadata_synced_at <= $1", synced_before
        )
        == 0
    )
    assert await pool.fetchval("SELECT count(*) FROM bronze.api_responses") == bronze_before
    assert await pool.fetchval("SELECT count(*) FROM bronze.response_sightings") > 0
    loads = await pool.fetch("SELECT kind, status, stats FROM ops.loads ORDER BY id")
    assert [(r["kind"], r["status"]) for r in loads] == [("static", "done"), ("static", "done")]
    assert loads[1]["stats"]["unchanged"] == again.unchanged
    assert await pool.fetchval("SELECT watermark FROM ops.sync_state WHERE kind = 'delta'")


async def test_delta_picks_up_changes_after_advance(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool
) -> None:
    ingestor = Ingestor(pool, polymarket, sim.settings())
    await ingestor.static_load()
    sim.advance(6 * 3600)
    truth = {m["market"]: m for m in sim.truth(venue="polymarket", trades=False)["markets"]}
    delta = await ingestor.delta_load()
    assert delta.updated > 0
    rows = await pool.fetch("SELECT native_id, status, winning_outcome FROM silver.markets")
    stale = [
        r["native_id"]
        for r in rows
        if r["status"] != truth[r["native_id"]]["status"]
        or (
            truth[r["native_id"]]["status"] == "resolved"
            and r["winning_outcome"] != truth[r["native_id"]]["winner"]
        )
    ]
    assert stale == []
    assert {r["native_id"] for r in rows} >= set(_open_truth(sim, "polymarket"))
    assert await pool.fetchval("SELECT count(*) FROM ops.loads WHERE kind = 'delta'") == 1

    again = await ingestor.delta_load()
    assert (again.inserted, again.updated) == (0, 0)


async def _trades_by_market(pool: asyncpg.Pool, ids: list[int]) -> Counter[str]:
    rows = await pool.fetch(
        "SELECT m.native_id, count(t.id) AS n FROM silver.markets m "
        "LEFT JOIN silver.trades t ON t.market_id = m.id WHERE m.id = ANY($1) "
        "GROUP BY m.native_id",
        ids,
    )
    return Counter({r["native_id"]: r["n"] for r in rows})


def _truth_counts(sim: SimHandle, native_ids: set[str]) -> Counter[str]:
    markets = sim.truth(venue="polymarket", trades=False)["markets"]
    return Counter({m["market"]: m["trade_count"] for m in markets if m["market"] in native_ids})


async def test_trades_equal_truth_resume_and_never_refetch(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool
) -> None:
    ingestor = Ingestor(pool, polymarket, sim.settings())
    await ingestor.static_load()
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM silver.markets ORDER BY id LIMIT 40")]

    # Interrupt the first sync part-way: committed pages stay, the rest resumes.
    task = asyncio.create_task(ingestor.sync_trades(ids))
    for _ in range(3000):
        if await pool.fetchval("SELECT count(*) FROM silver.trades"):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    resumed = await ingestor.sync_trades(ids)
    assert resumed.unchanged == 0, "a trade already stored was fetched again"
    held = await _trades_by_market(pool, ids)
    assert held == _truth_counts(sim, set(held))

    truth = sim.truth(venue="polymarket", market=next(iter(+held)))
    keys = await pool.fetch(
        "SELECT t.trade_key FROM silver.trades t JOIN silver.markets m ON m.id = t.market_id "
        "WHERE m.native_id = $1",
        truth["market"],
    )
    assert len({k["trade_key"] for k in keys}) == len(truth["trades"]) == len(keys)

    sim.advance(3600)
    later = await ingestor.sync_trades(ids)
    assert later.inserted > 0 and later.unchanged == 0
    held = await _trades_by_market(pool, ids)
    assert held == _truth_counts(sim, set(held))
    wm = await pool.fetchval(
        "SELECT count(*) FROM silver.market_sync WHERE trades_watermark IS NOT NULL "
        "AND trades_synced_at IS NOT NULL"
    )
    assert wm == len(+held)


async def test_malformed_item_is_quarantined_and_its_page_lands(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool
) -> None:
    """A real listing page from the simulator, one item broken, through the real parser."""
    page = await anext(polymarket.list_markets())
    body = copy.deepcopy(page.raw[0].body)
    items = body["markets"] if isinstance(body, dict) else body
    items[3]["outcomePrices"] = "not json"
    raw = page.raw[0]
    raw.body = body
    parsed, errors = parse_page(
        "polymarket", raw.endpoint, items, parse.parse_gamma_market, key_id("id"), raw
    )
    assert len(errors) == 1
    async with pool.acquire() as conn, conn.transaction():
        summary = await write_batch(conn, Batch(raw=[raw], markets=parsed, errors=errors))
    assert summary.quarantined == 1 and summary.inserted == len(items) - 1
    row = await pool.fetchrow("SELECT item_id, reason, bronze_id, item FROM ops.quarantine")
    assert row is not None
    assert row["item_id"] == items[3]["id"] and row["bronze_id"] == raw.bronze_id
    assert "outcomePrices" in row["reason"]
    assert await pool.fetchval("SELECT count(*) FROM silver.markets") == len(items) - 1


async def test_refreshes_stamp_and_notify(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool, db_url: str
) -> None:
    ingestor = Ingestor(pool, polymarket, sim.settings())
    await ingestor.static_load()
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM silver.markets ORDER BY id LIMIT 30")]
    refs = await ingestor.market_refs(ids)
    assert len(refs) == 30 and all(len(r.outcomes) == 2 for r in refs)

    listener = await asyncpg.connect(db_url)
    heard: list[str] = []
    await listener.add_listener("predhub_quotes", lambda *a: heard.append(a[3]))
    try:
        unchanged = await ingestor.refresh_quotes(ids)
        assert unchanged.updated == 0 and unchanged.unchanged == 60
        await asyncio.sleep(0.2)
        assert heard == []
        sim.advance(3 * 3600)
        moved = await ingestor.refresh_quotes(ids)
        await asyncio.sleep(0.2)
        assert moved.updated > 0
        assert len(heard) == len(set(heard)) and {int(h) for h in heard} <= set(ids)
    finally:
        await listener.close()

    books = await ingestor.refresh_books(ids[:5])
    assert books.inserted >= 10
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM silver.market_sync"
            " WHERE market_id = ANY($1) AND books_synced_at IS NOT NULL",
            ids[:5],
        )
        == 5
    )
    meta = await ingestor.refresh_markets(ids[:5])
    assert meta.quarantined == 0 and meta.fetched >= 5


async def test_backfill_marks_each_market_and_resumes_with_the_rest(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool
) -> None:
    ingestor = Ingestor(pool, polymarket, sim.settings())
    await ingestor.static_load()
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM silver.markets ORDER BY id LIMIT 6")]
    days = 400.0  # the simulated world starts in the past; cover it whatever today is
    first = await ingestor.backfill_history(ids[:3], days=days)
    assert first.inserted > 0 and first.quarantined == 0
    done = await pool.fetch(
        "SELECT market_id FROM silver.market_sync WHERE history_synced_at IS NOT NULL"
    )
    assert sorted(r["market_id"] for r in done) == ids[:3]
    points = await pool.fetchval("SELECT count(*) FROM silver.price_history")

    again = await ingestor.backfill_history(ids[:3], days=days)
    assert (again.inserted, again.updated) == (0, 0)
    assert await pool.fetchval("SELECT count(*) FROM silver.price_history") == points


async def test_stream_update_merges_quotes_and_adds_trades(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool
) -> None:
    ingestor = Ingestor(pool, polymarket, sim.settings())
    await ingestor.static_load()
    row = await pool.fetchrow(
        "SELECT m.native_id, q.best_bid, q.best_ask, q.price, q.market_id FROM silver.quotes q "
        "JOIN silver.outcomes o ON o.id = q.outcome_id JOIN silver.markets m ON m.id = q.market_id "
        "WHERE o.idx = 0 ORDER BY m.id LIMIT 1"
    )
    assert row is not None
    now = row["best_bid"]
    update = StreamUpdate(
        quotes=[
            Quote(
                "polymarket",
                row["native_id"],
                0,
                observed_at=datetime.now(UTC),
                best_bid=now - Decimal("0.01") if now > Decimal("0.01") else now + Decimal("0.01"),
            )
        ],
        trades=[
            Trade(
                "polymarket",
                row["native_id"],
                "stream-trade-1",
                price=Decimal("0.5"),
                size=Decimal("3"),
                executed_at=datetime.now(UTC),
                outcome_index=0,
            )
        ],
    )
    result = await ingestor.apply_stream_update(update)
    assert (result.updated, result.inserted) == (1, 1)
    after = await pool.fetchrow(
        "SELECT q.best_bid, q.best_ask, q.price FROM silver.quotes q "
        "JOIN silver.outcomes o ON o.id = q.outcome_id WHERE q.market_id = $1 AND o.idx = 0",
        row["market_id"],
    )
    assert after is not None
    assert after["best_bid"] != row["best_bid"]
    # The ask the update lacks is kept; the price follows the merged book (midpoint).
    assert after["best_ask"] == row["best_ask"]
    assert after["price"] == (after["best_bid"] + after["best_ask"]) / 2
    assert (await ingestor.apply_stream_update(update)).written == 0


async def test_backfill_also_syncs_trades_of_markets_never_synced(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool
) -> None:
    ingestor = Ingestor(pool, polymarket, sim.settings())
    await ingestor.static_load()
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM silver.markets ORDER BY id LIMIT 5")]
    await ingestor.sync_trades(ids)  # these are synced already: backfill must not refetch them
    stamped = dict(await pool.fetch(_TRADES_SYNCED, ids))

    await ingestor.backfill_history(days=1.0)
    pending = await pool.fetchval(
        "SELECT count(*) FROM silver.market_sync WHERE trades_synced_at IS NULL"
    )
    assert pending == 0
    every = [r["id"] for r in await pool.fetch("SELECT id FROM silver.markets")]
    held = await _trades_by_market(pool, every)
    assert held == _truth_counts(sim, set(held)) and sum(held.values()) > 0
    after = dict(await pool.fetch(_TRADES_SYNCED, ids))
    assert after == stamped

    again = await ingestor.backfill_history(days=1.0)
    assert (again.inserted, again.unchanged) == (0, 0), "a resumed backfill refetched trades"


async def test_resolution_sweep_records_outcomes_the_venue_settled(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool
) -> None:
    ingestor = Ingestor(pool, polymarket, sim.settings())
    await ingestor.static_load()
    before = _open_truth(sim, "polymarket")
    sim.advance(20 * 86400)
    settled = {
        m["market"]: m
        for m in sim.truth(venue="polymarket", trades=False)["markets"]
        if m["market"] in before and m["status"] == "resolved"
    }
    assert settled, "the simulated world resolved nothing; advance further"
    # The sweep picks markets past their end by the database clock; the
    # simulated clock is its own, so place these just past their end.
    await pool.execute(
        "UPDATE silver.markets SET end_at = now() - interval '1 hour' "
        "WHERE venue = 'polymarket' AND native_id = ANY($1)",
        list(settled),
    )

    swept = await ingestor.resolution_sweep()
    assert swept.updated >= len(settled) and swept.quarantined == 0
    rows = await pool.fetch(
        "SELECT native_id, status, winning_outcome, resolved_at FROM silver.markets "
        "WHERE venue = 'polymarket' AND native_id = ANY($1)",
        list(settled),
    )
    assert len(rows) == len(settled)
    for r in rows:
        assert r["status"] == "resolved", r["native_id"]
        assert r["winning_outcome"] == settled[r["native_id"]]["winner"], r["native_id"]
        assert r["resolved_at"] is not None


async def test_a_write_chosen_as_a_deadlock_victim_is_run_again(
    pool: asyncpg.Pool, polymarket: Venue, sim: SimHandle
) -> None:
    """A quotes write locks quote rows, then stamps the market; another
    transaction holding the market and wanting the quote closes the cycle.
    PostgreSQL aborts the write that waited first (ours); it is run again
    once the other transaction is done, and nothing of it is lost."""
    from ingest.factories import market, quote, raw
    from predhub.ingest.pipeline import _Run

    async with pool.acquire() as conn, conn.transaction():
        await write_batch(conn, Batch(markets=[market(1)], quotes=[quote(1, 0, "0.40")]))
    market_id = await pool.fetchval("SELECT id FROM silver.markets WHERE native_id = 'm1'")
    ingestor = Ingestor(pool, polymarket, sim.settings())
    page = raw(endpoint="/prices", page=1)
    other = await pool.acquire()
    try:
        held = other.transaction()
        await held.start()
        await other.execute(
            "SELECT 1 FROM silver.market_sync WHERE market_id = $1 FOR UPDATE", market_id
        )
        write = asyncio.create_task(
            ingestor._write(
                _Run(load_id=None),
                Batch(raw=[page], quotes=[quote(1, 0, "0.55", page=page)]),
                stamps=("quotes_synced_at",),
                stamp_ids=[market_id],
            )
        )
        await asyncio.sleep(0.3)
        # Waits for our write's quote row until PostgreSQL breaks the cycle.
        await other.execute(
            "UPDATE silver.quotes SET fetched_at = fetched_at WHERE market_id = $1", market_id
        )
        await held.commit()
        part = await asyncio.wait_for(write, timeout=10)
    finally:
        await pool.release(other)
    assert part.updated == 1
    row = await pool.fetchrow(
        "SELECT q.price, m.quotes_synced_at IS NOT NULL AS stamped, q.bronze_id "
        "FROM silver.quotes q JOIN silver.market_sync m ON m.market_id = q.market_id "
        "WHERE q.market_id = $1 AND q.outcome_id = (SELECT min(id) FROM silver.outcomes "
        "WHERE market_id = $1)",
        market_id,
    )
    assert row is not None
    assert (row["price"], row["stamped"]) == (Decimal("0.55"), True)
    assert row["bronze_id"] == page.bronze_id
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM bronze.api_responses WHERE id = $1", page.bronze_id
        )
        == 1
    )


_TRADES_SYNCED = (
    "SELECT market_id, trades_synced_at FROM silver.market_sync WHERE market_id = ANY($1)"
)


async def _ended_and_read(pool: asyncpg.Pool, natives: list[str], read_ago: str) -> None:
    """These markets ended ten days ago and were last read `read_ago` (an interval)."""
    await pool.execute(
        "UPDATE silver.markets SET end_at = now() - interval '10 days' "
        "WHERE venue = 'polymarket' AND native_id = ANY($1)",
        natives,
    )
    await pool.execute(
        "UPDATE silver.market_sync SET metadata_synced_at = now() - $2::text::interval "
        "WHERE market_id IN (SELECT id FROM silver.markets "
        "WHERE venue = 'polymarket' AND native_id = ANY($1))",
        natives,
        read_ago,
    )


async def test_the_sweep_finds_markets_that_resolved_while_the_hub_was_down(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool
) -> None:
    """Markets that ended long ago (past RECENTLY_CLOSED_DAYS) and were last read before
    their end are re-read once; markets already watched through their window are not."""
    ingestor = Ingestor(pool, polymarket, sim.settings(recently_closed_days=1.0))
    await ingestor.static_load()
    before = _open_truth(sim, "polymarket")
    sim.advance(20 * 86400)
    settled = sorted(
        m["market"]
        for m in sim.truth(venue="polymarket", trades=False)["markets"]
        if m["market"] in before and m["status"] == "resolved"
    )
    assert len(settled) >= 2, "the simulated world resolved too little; advance further"
    down, watched = settled[:-1], settled[-1:]
    # The hub read them last a day before they ended, ten days ago, and was down since.
    await _ended_and_read(pool, down, "11 days")
    # This one was re-read after its window: the sweep leaves it to the other refreshes.
    await _ended_and_read(pool, watched, "8 days")
    swept = await ingestor.resolution_sweep()
    assert swept.quarantined == 0
    rows = await pool.fetch(
        "SELECT native_id, status FROM silver.markets "
        "WHERE venue = 'polymarket' AND native_id = ANY($1)",
        settled,
    )
    status = {r["native_id"]: r["status"] for r in rows}
    assert all(status[n] == "resolved" for n in down), status
    assert all(status[n] == "open" for n in watched), status
