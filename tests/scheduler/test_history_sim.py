"""The running hub keeps price history by itself: simulated hours against the simulator.

The worker runs a venue against the simulator on a clock that moves with the
simulator's (one minute a cycle); nothing but the worker's own jobs asks the
venue anything. Afterwards every open market has points at its resolution,
the candles follow the simulator's own prices within a tick, and the backfill
fetched each new market's past once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from predhub.gold.history import rollup
from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.worker import VenueWorker
from predhub.service import candles
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.base import Venue
from predhub.venues.registry import build_venue

from .simtools import FakeClock, tiny_world

pytestmark = pytest.mark.slow

VENUE = "kalshi"
MINUTES = 150
TICK = 0.01
SLACK = timedelta(seconds=90)  # one cycle of a minute, plus the lead the planner allows


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(tiny_world()) as handle:
        yield handle


@pytest.fixture
async def venue(sim: SimHandle) -> AsyncIterator[Venue]:
    made = build_venue(VENUE, sim.settings(**_FAST))
    yield made
    await made.close()


_FAST = {
    "http_max_retries": 0,
    "scheduler_cycle_seconds": 5.0,
    "rate_limit_scale": 20.0,
}


def _follows(close: float, truth: tuple[float, float, float]) -> bool:
    """The hub's price is within a tick of the simulator's, or inside its quoted spread.

    (A price below the first tick is shown as the midpoint of a one-tick book.)
    """
    price, bid, ask = truth
    return abs(close - price) <= TICK + 1e-9 or bid - 1e-9 <= close <= ask + 1e-9


async def _gaps(pool: asyncpg.Pool, now: datetime) -> dict[int, tuple[str, timedelta]]:
    """Each open market's priority and its longest stretch without a point of outcome 0."""
    rows = await pool.fetch(
        """
        SELECT m.id, s.sync_priority,
               greatest(max(h.ts - h.prev), $2::timestamptz - max(h.ts)) AS gap
        FROM silver.markets m
        JOIN silver.market_sync s ON s.market_id = m.id
        JOIN silver.outcomes o ON o.market_id = m.id AND o.idx = 0
        JOIN LATERAL (
            SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev FROM silver.price_history
            WHERE outcome_id = o.id AND source = 'quote' AND ts >= $2::timestamptz - interval '1 hour'
        ) h ON true
        WHERE m.venue = $1 AND m.status = 'open'
        GROUP BY m.id, s.sync_priority
        """,
        VENUE,
        now,
    )
    return {r["id"]: (r["sync_priority"], r["gap"]) for r in rows}


async def test_simulated_hours_keep_history_at_each_markets_resolution(
    pool: asyncpg.Pool, sim: SimHandle, venue: Venue
) -> None:
    settings = sim.settings(**_FAST)
    clock = FakeClock(datetime.fromtimestamp(sim.truth(VENUE, trades=False)["now"], UTC))
    ingestor = Ingestor(pool, venue, settings, clock=clock)
    worker = VenueWorker(pool, venue, ingestor, settings, clock=clock, restamp=True)
    # (native id, minute) -> outcome 0's price, best bid and best ask
    truth: dict[tuple[str, datetime], tuple[float, float, float]] = {}
    for _ in range(MINUTES):
        await worker.cycle(drain=True)
        now = clock()
        for m in sim.truth(VENUE, trades=False)["markets"]:
            o = m["outcomes"][0]
            minute = now.replace(second=0, microsecond=0)
            truth[(m["market"], minute)] = (o["price"], o["best_bid"], o["best_ask"])
        sim.advance(60)
        clock.advance(60)
    now = clock() - timedelta(seconds=60)

    # every market was backfilled once, by jobs the worker queued itself
    assert not await pool.fetchval(
        "SELECT count(*) FROM silver.market_sync WHERE venue = $1 AND history_synced_at IS NULL",
        VENUE,
    )
    backfilled = await pool.fetch("SELECT market_ids FROM ops.jobs WHERE kind = 'backfill'")
    ids = [i for r in backfilled for i in r["market_ids"]]
    assert ids and len(ids) == len(set(ids))
    assert await pool.fetchval("SELECT count(*) FROM silver.price_history WHERE source = 'venue'")

    # every open market at its resolution over the last hour
    gaps = await _gaps(pool, now)
    open_markets = await pool.fetchval(
        "SELECT count(*) FROM silver.markets WHERE venue = $1 AND status = 'open'", VENUE
    )
    assert len(gaps) == open_markets > 0
    high = {i for i, (p, _) in gaps.items() if p == "high"}
    assert high
    for market, (priority, gap) in gaps.items():
        limit = timedelta(minutes=1 if priority == "high" else 15) + SLACK
        assert gap <= limit, (market, priority, gap)

    # the candles follow the simulator's price path within a tick
    await rollup(pool, settings, now=now + timedelta(seconds=30), force=True)
    natives = dict(
        await pool.fetch(
            "SELECT id, native_id FROM silver.markets WHERE id = ANY($1::bigint[])", list(high)
        )
    )
    compared = 0
    for market in high:
        native = natives[market]
        start = now - timedelta(hours=1)
        for c in await candles.candles(pool, market, 0, "1m", start, now + SLACK):
            expected = truth.get((native, c["t"]))
            if expected is not None:
                assert _follows(float(c["close"]), expected), (native, c, expected)
                compared += 1
        for c in await candles.candles(pool, market, 0, "15m", start, now + SLACK):
            last = max(
                (
                    t
                    for (n, t) in truth
                    if n == native and c["t"] <= t < c["t"] + timedelta(minutes=15)
                ),
                default=None,
            )
            if last is not None:
                assert _follows(float(c["close"]), truth[(native, last)]), (native, c)
                compared += 1
    assert compared > len(high) * 30
