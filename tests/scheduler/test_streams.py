"""The live-stream consumer: high-priority markets' trades and quotes arrive over the WebSocket."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.streams import StreamConsumer
from predhub.sim.testing import SimHandle
from predhub.venues.registry import build_venue


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
