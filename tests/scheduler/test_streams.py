"""The live-stream consumer: high-priority markets' trades and quotes arrive over the WebSocket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.priority import recompute_priorities
from predhub.scheduler.streams import StreamConsumer
from predhub.sim.config import FaultRule
from predhub.sim.testing import SimHandle
from predhub.venues.base import Capability
from predhub.venues.metrics import VENUE_METRICS
from predhub.venues.registry import build_venue

from .simtools import silver_trades, truth_trades


async def _trade_count(pool: asyncpg.Pool, ids: list[int]) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM silver.trades WHERE market_id = ANY($1::bigint[])", ids
        )
    )


async def test_stream_writes_trades_of_high_priority_markets_as_they_arrive(
    pool: asyncpg.Pool, sim: SimHandle
) -> None:
    settings = sim.settings(enabled_venues="polymarket")
    venue = build_venue("polymarket", settings)
    ingestor = Ingestor(pool, venue, settings)
    try:
        await ingestor.static_load()
        rows = await pool.fetch(
            "UPDATE silver.market_sync SET sync_priority = 'high' WHERE market_id IN ("
            " SELECT id FROM silver.markets WHERE venue = 'polymarket' AND status = 'open'"
            " ORDER BY volume_24h DESC NULLS LAST, id LIMIT 5) RETURNING market_id AS id"
        )
        ids = [r["id"] for r in rows]
        assert len(ids) == 5
        before = await _trade_count(pool, ids)

        consumer = StreamConsumer(pool, venue, ingestor, settings, flush_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await asyncio.sleep(1.0)  # subscribed, first book frames in
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                await asyncio.to_thread(sim.advance, 900)  # fifteen simulated minutes of trading
                await asyncio.sleep(0.5)
                if await _trade_count(pool, ids) > before:
                    break
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)

        assert await _trade_count(pool, ids) > before
        assert consumer.written > 0
        duplicates = await pool.fetchval(
            "SELECT count(*) - count(DISTINCT trade_key) FROM silver.trades WHERE venue = 'polymarket'"
        )
        assert duplicates == 0
    finally:
        await venue.close()


async def _high(pool: asyncpg.Pool, n: int, venue: str = "polymarket") -> list[int]:
    rows = await pool.fetch(
        "UPDATE silver.market_sync SET sync_priority = 'high' WHERE market_id IN ("
        " SELECT id FROM silver.markets WHERE venue = $2 AND status = 'open'"
        # markets with a book (an AMM market has none, and no feed of it is read)
        " AND extra->>'trade_type' IS DISTINCT FROM 'amm'"
        " ORDER BY volume_24h DESC NULLS LAST, id LIMIT $1)"
        " RETURNING market_id AS id,"
        " (SELECT native_id FROM silver.markets WHERE id = market_id) AS native_id",
        n,
        venue,
    )
    return [r["id"] for r in rows]


async def _quotes_match_truth(
    pool: asyncpg.Pool, sim: SimHandle, ids: list[int], venue: str = "polymarket"
) -> bool:
    rows = await pool.fetch(
        "SELECT m.native_id, o.idx, q.best_bid, q.best_ask FROM silver.quotes q"
        " JOIN silver.outcomes o ON o.id = q.outcome_id JOIN silver.markets m ON m.id = q.market_id"
        " WHERE q.market_id = ANY($1::bigint[])",
        ids,
    )
    held = {(r["native_id"], r["idx"]): (r["best_bid"], r["best_ask"]) for r in rows}
    truth = {
        (m["market"], o["index"]): (o["best_bid"], o["best_ask"])
        for m in sim.truth(venue=venue, trades=False)["markets"]
        for o in m["outcomes"]
        if (m["market"], o["index"]) in held
    }
    return len(truth) == len(held) > 0 and all(
        float(held[k][0]) == truth[k][0] and float(held[k][1]) == truth[k][1] for k in truth
    )


async def _until(
    check: Callable[[], Awaitable[bool]], seconds: float, step: Callable[[], None]
) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        step()
        await asyncio.sleep(0.3)
        if await check():
            return True
    return False


# Every streaming venue, every way its feed can fail: silent, dropped, and (where the
# venue numbers its messages) a gap in the sequence.
STREAM_FAULTS = [
    ("polymarket", "ws_silent"),
    ("polymarket", "ws_close"),
    # Kalshi's sign of life is the WebSocket pong, which the simulator's server sends by
    # itself even while `ws_silent`: a quiet feed to it, not a dead one (the dead peer is
    # in tests/venues/test_kalshi_stream.py)
    ("kalshi", "ws_close"),
    ("kalshi", "ws_gap"),
    ("limitless", "ws_silent"),  # whole books, no sequence numbers: no gap to force
    ("limitless", "ws_close"),
    ("opinion", "ws_silent"),  # level changes without sequence numbers: no gap to force
    ("opinion", "ws_close"),
]


@pytest.mark.parametrize(("venue_name", "fault"), STREAM_FAULTS)
async def test_a_silent_dropped_or_gapped_stream_is_resynced_over_rest_and_loses_no_trade(
    pool: asyncpg.Pool, sim: SimHandle, venue_name: str, fault: str
) -> None:
    """While the feed is silent (or after the server drops it, or skips a numbered
    message) the simulator keeps trading and moving prices. The consumer notices,
    re-reads the quotes over REST and queues the markets' trades for the planner;
    the stream comes back; after the planner's trade sync, silver holds every
    trade exactly once."""
    # a gap shows only when a later numbered message arrives: the feed must stay up
    # (not fall silent between the frozen world's steps) while the world trades on
    silence = 5.0 if fault == "ws_gap" else 1.0
    settings = sim.settings(
        enabled_venues=venue_name, ws_silence_seconds=silence, http_backoff_base_seconds=0.05
    )
    venue = build_venue(venue_name, settings)
    assert venue.can_stream()
    trades = Capability.TRADES in venue.has
    # a gap is told apart by its sequence numbers; a drop may first look like silence
    # (the world is frozen between steps, so an open feed is quiet too)
    causes = ("gap",) if fault == "ws_gap" else ("silent", "dropped", "ended")
    counted = sum(VENUE_METRICS.resyncs[(venue_name, c)] for c in causes)
    ingestor = Ingestor(pool, venue, settings)
    try:
        await ingestor.static_load()
        ids = await _high(pool, 5, venue_name)
        if trades:
            await ingestor.sync_trades(ids)
        consumer = StreamConsumer(pool, venue, ingestor, settings, flush_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await asyncio.sleep(1.0)  # subscribed
            sim.set_faults(
                FaultRule(
                    venue=venue_name,
                    kind=fault,
                    count=None if fault == "ws_silent" else 1,
                )
            )
            if fault == "ws_gap":
                gapped = await _until(
                    lambda: _more_than(counted, venue_name, causes), 20, lambda: sim.advance(300)
                )
                assert gapped, "the gap in the sequence was not noticed"
            else:
                await asyncio.to_thread(sim.advance, 1800)  # trading while the feed is down
            resynced = await _until(
                lambda: _more_than(counted, venue_name, causes), 15, lambda: None
            )
            assert resynced, f"the resync was not counted: {VENUE_METRICS.resyncs}"
            assert consumer.resyncs >= 1
            queued = await _until(lambda: _queued(pool, ids), 15, lambda: None)
            assert queued, "the markets' trades were not queued for a REST sync"
            # (re-read at each resync: a silent feed is noticed again after each reconnect)
            reread = await _until(
                lambda: _quotes_match_truth(pool, sim, ids, venue_name), 15, lambda: None
            )
            assert reread, "quotes were not re-read over REST"
            sim.clear_faults()
            # The stream is back: new trades (or, on a feed without trades, books)
            # arrive over it again.
            before, written = await _trade_count(pool, ids), consumer.written
            came_back = await _until(
                lambda: _more_trades(pool, ids, before) if trades else _more(consumer, written),
                30,
                lambda: sim.advance(900),
            )
            assert came_back, "the stream did not flow again"
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
        if trades:
            await ingestor.sync_trades(ids)  # the planner's next step for queued markets
    finally:
        await venue.close()
    if not trades:
        return  # the venue publishes no trades: the quotes' resync above is the guarantee
    truth = {m: c for m, c in truth_trades(sim, venue_name).items()}
    stored = await silver_trades(pool, venue_name)
    native = {
        r["native_id"]
        for r in await pool.fetch(
            "SELECT native_id FROM silver.markets WHERE id = ANY($1::bigint[])", ids
        )
    }
    for market in native:
        assert stored.get(market) == truth.get(market), market


async def _more_than(counted: int, venue: str, causes: tuple[str, ...]) -> bool:
    return sum(VENUE_METRICS.resyncs[(venue, c)] for c in causes) > counted


async def _queued(pool: asyncpg.Pool, ids: list[int]) -> bool:
    pending = await pool.fetchval(
        "SELECT count(*) FROM silver.market_sync"
        " WHERE market_id = ANY($1::bigint[]) AND trades_synced_at IS NULL",
        ids,
    )
    return bool(pending == len(ids))


async def _more(consumer: StreamConsumer, written: int) -> bool:
    return consumer.written > written


async def _more_trades(pool: asyncpg.Pool, ids: list[int], before: int) -> bool:
    return await _trade_count(pool, ids) > before


async def test_the_stream_follows_the_high_priority_set_when_told(
    pool: asyncpg.Pool, sim: SimHandle
) -> None:
    """A market that becomes high priority is streamed at once: the priority recompute
    announces the change and the consumer subscribes the new set (the periodic recheck
    is pushed out of reach here), and the new market's book arrives over the stream."""
    settings = sim.settings(enabled_venues="polymarket")
    venue = build_venue("polymarket", settings)
    ingestor = Ingestor(pool, venue, settings)
    try:
        await ingestor.static_load()
        await pool.execute("UPDATE silver.market_sync SET interest_at = NULL")
        await recompute_priorities(pool, "polymarket", settings, datetime.now(UTC))
        await _high(pool, 3)
        consumer = StreamConsumer(
            pool, venue, ingestor, settings, flush_seconds=0.05, recheck_seconds=600
        )
        first = await consumer.high_markets()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            assert await _until(lambda: _streaming(consumer, set(first)), 10, lambda: None)
            newcomer = await pool.fetchval(
                "UPDATE silver.market_sync SET interest_at = now() WHERE market_id = ("
                " SELECT m.id FROM silver.markets m JOIN silver.market_sync s"
                " ON s.market_id = m.id WHERE m.venue = 'polymarket' AND m.status = 'open'"
                " AND s.sync_priority <> 'high' ORDER BY m.id LIMIT 1) RETURNING market_id"
            )
            await pool.execute(
                "UPDATE silver.quotes SET best_bid = NULL, best_ask = NULL WHERE market_id = $1",
                newcomer,
            )
            await recompute_priorities(pool, "polymarket", settings, datetime.now(UTC))
            high = set(await consumer.high_markets())
            assert newcomer in high
            assert await _until(lambda: _streaming(consumer, high), 10, lambda: None), (
                "the new high-priority set was not subscribed"
            )
            assert await _until(
                lambda: _quotes_match_truth(pool, sim, [newcomer]), 10, lambda: None
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
    finally:
        await venue.close()


async def _streaming(consumer: StreamConsumer, ids: set[int]) -> bool:
    return consumer.subscribed == ids
