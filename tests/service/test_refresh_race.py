"""`max_age=0` under concurrency: callers that wait for a refresh get its result.

Several independent services (each its own pool, single-flight and cache, as
separate API processes have) share one database and the simulator. Each round,
20 callers ask for one market with a zero max age at once; some lead a
refresh, others join one in their process or wait on another process's lock.
A caller that waited for a refresh finishing after it asked has fresh enough
data: with the venue healthy, no answer may come back stale.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest
from service_support import running_service

from predhub.db.connect import create_pool
from predhub.ingest.pipeline import Ingestor
from predhub.service.freshness import CacheState
from predhub.service.service import MarketDataService
from predhub.service.tiers import Freshness
from predhub.sim.testing import SimHandle
from predhub.venues.registry import build_venue

VENUE = "polymarket"
ZERO = Freshness("T0", 0.0)
SERVICES = 3
CALLERS = 20


@contextlib.asynccontextmanager
async def _services(sim: SimHandle, db_url: str, n: int) -> AsyncIterator[list[MarketDataService]]:
    """`n` services as `n` processes would run them: nothing shared but the database."""
    # A generous request budget: this test is about the race, not the shared budget.
    settings = sim.settings(enabled_venues=VENUE, http_max_retries=0, rate_limit_scale=1000)
    async with contextlib.AsyncExitStack() as stack:
        services = []
        for _ in range(n):
            pool = await create_pool(db_url, min_size=1, max_size=6)
            stack.push_async_callback(pool.close)
            services.append(
                await stack.enter_async_context(running_service(pool, db_url, settings))
            )
        yield services


async def _race(rounds: int, sim: SimHandle, pool: asyncpg.Pool, db_url: str) -> Counter[str]:
    settings = sim.settings(enabled_venues=VENUE)
    venue = build_venue(VENUE, settings)
    try:
        await Ingestor(pool, venue, settings).static_load()
    finally:
        await venue.close()
    market_id = await pool.fetchval(
        "SELECT id FROM silver.markets WHERE venue = $1 AND status = 'open' ORDER BY id LIMIT 1",
        VENUE,
    )
    stale: Counter[str] = Counter()
    async with _services(sim, db_url, SERVICES) as services:

        async def caller(service: MarketDataService) -> None:
            # Back to back, as a client in a loop asks: the callers drift apart, so
            # they arrive at every moment of one another's refreshes.
            for _ in range(rounds):
                answer = await service.price(str(market_id), ZERO)
                assert answer.body is not None
                if answer.cache is CacheState.STALE:
                    stale[orjson.loads(answer.body)["stale_reason"]] += 1

        await asyncio.gather(*(caller(services[i % SERVICES]) for i in range(CALLERS)))
    return stale


async def test_zero_max_age_callers_are_never_served_stale_by_a_healthy_venue(
    sim: SimHandle, pool: asyncpg.Pool, db_url: str
) -> None:
    stale = await _race(100, sim, pool, db_url)
    assert not stale, f"stale answers by reason: {dict(stale)}"


@pytest.mark.slow
async def test_zero_max_age_race_over_many_rounds(
    sim: SimHandle, pool: asyncpg.Pool, db_url: str
) -> None:
    stale = await _race(1000, sim, pool, db_url)
    assert not stale, f"stale answers by reason: {dict(stale)}"
