"""A quiet feed is not a dead one (simulator over real sockets, real database).

The simulator's world is frozen, so once subscribed no book moves and no
trade is made: the only frames are the venues' pings and pongs (Limitless's
Engine.IO pings, Polymarket's PONGs, Opinion's heartbeat acks, Kalshi's
WebSocket pongs). For several silence windows the consumer must keep its one
connection and count no resync. Then the feed dies (`ws_silent` stops every
frame, pings and pongs included) and the resync must come, counted as
`silent`. Kalshi's pongs are WebSocket control frames that the simulator's
server answers by itself, so it cannot play dead here: its dead peer is
tested in `tests/venues/test_kalshi_stream.py`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.process import run_worker
from predhub.scheduler.streams import StreamConsumer
from predhub.sim.config import FaultRule
from predhub.sim.testing import SimHandle
from predhub.venues.metrics import VENUE_METRICS
from predhub.venues.registry import build_venue

from .test_streams import _high, _until

SILENCE = 2.0  # the window; the venues ping or answer pings ten times in it
PING = 0.2
CAUSES = ("silent", "dropped", "ended", "gap", "unknown")


def _resyncs(venue: str, causes: tuple[str, ...] = CAUSES) -> int:
    return sum(VENUE_METRICS.resyncs[(venue, c)] for c in causes)


@pytest.mark.parametrize("venue_name", ["polymarket", "kalshi", "limitless", "opinion"])
async def test_a_quiet_feed_keeps_its_connection_and_a_dead_one_is_resynced(
    pool: asyncpg.Pool, sim: SimHandle, venue_name: str
) -> None:
    sim.configure(ws_ping_seconds=PING)
    settings = sim.settings(
        enabled_venues=venue_name,
        ws_silence_seconds=SILENCE,
        ws_ping_seconds=PING,
        http_backoff_base_seconds=0.05,
    )
    venue = build_venue(venue_name, settings)
    ingestor = Ingestor(pool, venue, settings)
    try:
        await ingestor.static_load()
        ids = await _high(pool, 3, venue_name)
        assert ids
        consumer = StreamConsumer(pool, venue, ingestor, settings, flush_seconds=0.2)
        resynced, connected = _resyncs(venue_name), sim.count(venue_name, status=101)
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            subscribed = await _until(_written(consumer), 15, lambda: None)
            assert subscribed, "no book came over the stream"
            written = consumer.written
            await asyncio.sleep(3 * SILENCE)  # quiet: nothing moves, only pings and pongs
            assert consumer.written == written  # no data came: only signs of life
            assert consumer.resyncs == 0
            assert _resyncs(venue_name) == resynced
            assert sim.count(venue_name, status=101) - connected == 1  # one connection, kept
            assert consumer.subscribed == frozenset(ids)
            if venue_name == "kalshi":
                return
            silent = _resyncs(venue_name, ("silent",))
            sim.set_faults(FaultRule(venue=venue_name, kind="ws_silent"))  # pings stop too
            dead = await _until(_counted(venue_name, silent), 15, lambda: None)
            assert dead, f"the dead feed was not resynced: {VENUE_METRICS.resyncs}"
            assert consumer.resyncs >= 1
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
    finally:
        await venue.close()


def _written(consumer: StreamConsumer) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return consumer.written > 0

    return check


def _counted(venue: str, before: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return _resyncs(venue, ("silent",)) > before

    return check


async def test_a_worker_runs_its_streams_on_a_thread_and_stops_it(
    pool: asyncpg.Pool, db_url: str, sim: SimHandle
) -> None:
    """With the database's address the worker streams from a thread of its own (its own
    loop and pool): books flow into silver while the jobs run, and stop joins the thread."""
    settings = sim.settings(enabled_venues="polymarket", stream_thread=True)
    venue = build_venue("polymarket", settings)
    try:
        await Ingestor(pool, venue, settings).static_load()
        ids = await _high(pool, 3, "polymarket")
    finally:
        await venue.close()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker(pool, settings, venues=["polymarket"], stop=stop, database_url=db_url)
    )
    try:
        streamed = await _until(_stamped(pool, ids), 30, lambda: None)
        assert streamed, "no market was stamped as the stream's"
        assert any(t.name == "predhub-streams" for t in threading.enumerate())
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
    assert not any(t.name == "predhub-streams" for t in threading.enumerate())  # joined


def _stamped(pool: asyncpg.Pool, ids: list[int]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        n = await pool.fetchval(
            "SELECT count(*) FROM silver.market_sync WHERE market_id = ANY($1::bigint[])"
            " AND quotes_streamed_until > now()",
            ids,
        )
        return bool(n)

    return check
