"""The live-stream consumer: high-priority markets' trades and quotes arrive over the WebSocket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.streams import StreamConsumer
from predhub.sim.config import FaultRule
from predhub.sim.testing import SimHandle
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
            "UPDATE silver.markets SET sync_priority = 'high' WHERE id IN ("
            " SELECT id FROM silver.markets WHERE venue = 'polymarket' AND status = 'open'"
            " ORDER BY volume_24h DESC NULLS LAST, id LIMIT 5) RETURNING id"
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


async def _high(pool: asyncpg.Pool, n: int) -> list[int]:
    rows = await pool.fetch(
        "UPDATE silver.markets SET sync_priority = 'high' WHERE id IN ("
        " SELECT id FROM silver.markets WHERE venue = 'polymarket' AND status = 'open'"
        " ORDER BY volume_24h DESC NULLS LAST, id LIMIT $1) RETURNING id, native_id",
        n,
    )
    return [r["id"] for r in rows]


async def _quotes_match_truth(pool: asyncpg.Pool, sim: SimHandle, ids: list[int]) -> bool:
    rows = await pool.fetch(
        "SELECT m.native_id, o.idx, q.best_bid, q.best_ask FROM silver.quotes q"
        " JOIN silver.outcomes o ON o.id = q.outcome_id JOIN silver.markets m ON m.id = q.market_id"
        " WHERE q.market_id = ANY($1::bigint[])",
        ids,
    )
    held = {(r["native_id"], r["idx"]): (r["best_bid"], r["best_ask"]) for r in rows}
    truth = {
        (m["market"], o["index"]): (o["best_bid"], o["best_ask"])
        for m in sim.truth(venue="polymarket", trades=False)["markets"]
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


@pytest.mark.parametrize("fault", ["ws_silent", "ws_close"])
async def test_a_silent_or_dropped_stream_is_resynced_over_rest_and_loses_no_trade(
    pool: asyncpg.Pool, sim: SimHandle, fault: str
) -> None:
    """While the feed is silent (or after the server drops it) the simulator keeps
    trading and moving prices. The consumer notices, re-reads the quotes over
    REST and queues the markets' trades for the planner; the stream comes back;
    after the planner's trade sync, silver holds every trade exactly once."""
    settings = sim.settings(
        enabled_venues="polymarket", ws_silence_seconds=1.0, http_backoff_base_seconds=0.05
    )
    venue = build_venue("polymarket", settings)
    ingestor = Ingestor(pool, venue, settings)
    try:
        await ingestor.static_load()
        ids = await _high(pool, 5)
        await ingestor.sync_trades(ids)
        consumer = StreamConsumer(pool, venue, ingestor, settings, flush_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await asyncio.sleep(1.0)  # subscribed
            sim.set_faults(
                FaultRule(
                    venue="polymarket",
                    endpoint="/ws/market",
                    kind=fault,
                    count=1 if fault == "ws_close" else None,
                )
            )
            await asyncio.to_thread(sim.advance, 1800)  # trading while the feed is down
            queued = await _until(lambda: _queued(pool, ids), 15, lambda: None)
            assert queued, "the markets' trades were not queued for a REST sync"
            assert consumer.resyncs >= 1
            assert await _quotes_match_truth(pool, sim, ids), "quotes were not re-read over REST"
            sim.clear_faults()
            # The stream is back: new trades arrive over it again.
            before = await _trade_count(pool, ids)
            came_back = await _until(
                lambda: _more_trades(pool, ids, before), 30, lambda: sim.advance(900)
            )
            assert came_back, "trades did not flow over the stream again"
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
        await ingestor.sync_trades(ids)  # the planner's next step for queued markets
    finally:
        await venue.close()
    truth = {m: c for m, c in truth_trades(sim, "polymarket").items()}
    stored = await silver_trades(pool, "polymarket")
    native = {
        r["native_id"]
        for r in await pool.fetch(
            "SELECT native_id FROM silver.markets WHERE id = ANY($1::bigint[])", ids
        )
    }
    for market in native:
        assert stored.get(market) == truth.get(market), market


async def _queued(pool: asyncpg.Pool, ids: list[int]) -> bool:
    pending = await pool.fetchval(
        "SELECT count(*) FROM silver.markets WHERE id = ANY($1::bigint[]) AND trades_synced_at IS NULL",
        ids,
    )
    return bool(pending == len(ids))


async def _more_trades(pool: asyncpg.Pool, ids: list[int], before: int) -> bool:
    return await _trade_count(pool, ids) > before
