"""predhub behind a real PgBouncer in transaction mode.

Through the pooler: the worker's cycles (planning locks, leased jobs, COPY of
trades, staged upserts with temporary tables) and the API's reads, refreshes
(transaction-scoped advisory locks) and writes, with DB_STATEMENT_CACHE_SIZE=0.
LISTEN needs a session of its own, so the API's listener connects to
DATABASE_SESSION_URL (the server itself): a NOTIFY sent through the pooler
still drops the changed market from the API's cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from predhub.api.app import create_app
from predhub.db.connect import connect, create_pool
from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.worker import VenueWorker
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market, write_quote
from predhub.settings import Settings
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.base import Venue
from predhub.venues.registry import build_venue

from .pgbouncer import pgbouncer, pgbouncer_binary
from .simtools import FakeClock, assert_trades_match_truth, tiny_world

FAST = {
    "http_max_retries": 0,
    "http_backoff_base_seconds": 0.01,
    "scheduler_cycle_seconds": 5.0,
    "rate_limit_scale": 20.0,
    "db_statement_cache_size": 0,
}


@pytest.fixture
def bouncer_url(db_url: str) -> Iterator[str]:
    pgbouncer_binary()  # skips, saying why, when it is not installed
    with pgbouncer(db_url, pool_size=3) as url:
        yield url


@pytest.fixture
async def bounced_pool(bouncer_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(bouncer_url, min_size=1, max_size=8, statement_cache_size=0)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(tiny_world()) as handle:
        yield handle


async def test_two_workers_sync_a_venue_through_pgbouncer(
    bounced_pool: asyncpg.Pool, sim: SimHandle
) -> None:
    settings = sim.settings(**FAST)
    clock = FakeClock()
    made: list[Venue] = []

    def worker(owner: str) -> VenueWorker:
        venue = build_venue("polymarket", settings)
        made.append(venue)
        ingestor = Ingestor(bounced_pool, venue, settings)
        return VenueWorker(
            bounced_pool, venue, ingestor, settings, owner=owner, clock=clock, restamp=True
        )

    a, b = worker("a"), worker("b")
    try:
        first = await a.cycle(drain=True)  # the static load
        assert first.jobs_done == 1 and first.jobs_failed == 0
        for _ in range(3):
            clock.advance(400)
            sim.advance(400)
            reports = await asyncio.gather(a.cycle(drain=True), b.cycle(drain=True))
            assert all(r.jobs_failed == 0 for r in reports), reports
        clock.advance(6 * 3600)  # every market's trades fall due
        await a.cycle(drain=True)
        assert await assert_trades_match_truth(bounced_pool, sim, "polymarket") > 0
        owners = await bounced_pool.fetch(
            "SELECT DISTINCT lease_owner FROM ops.jobs WHERE status = 'done'"
        )
        assert {r["lease_owner"] for r in owners} == {"a", "b"}
    finally:
        for venue in made:
            await venue.close()


async def test_the_api_through_pgbouncer_with_listen_on_the_session_url(
    db_url: str, bouncer_url: str, bounced_pool: asyncpg.Pool
) -> None:
    direct = await connect(db_url)
    try:
        ids = [
            await seed_market(direct, SeedMarket(native_id=f"b{i}", synced_ago=600))
            for i in range(12)
        ]
    finally:
        await direct.close()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        db_statement_cache_size=0,
        database_session_url=db_url,
        db_pool_max=6,
    )
    refresher = WritingRefresher(bounced_pool)
    app = create_app(settings, database_url=bouncer_url, refresher=refresher)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def price(market_id: int, tier: str) -> dict[str, Any]:
                r = await client.get(f"/v1/markets/{market_id}/price", params={"tier": tier})
                assert r.status_code == 200, r.text
                body: dict[str, Any] = r.json()
                return body

            # Many readers at once, the stale markets refreshed under their
            # advisory locks, reads and writes through three server connections.
            answers = await asyncio.gather(*(price(i, "T2a") for i in ids for _ in range(4)))
            assert {a["cache"] for a in answers} <= {"refreshed", "hit"}
            assert all(a["outcomes"][0]["price"] == 0.7 for a in answers)
            assert {m for _, batch in refresher.calls for m in batch} == set(ids)

            listing = await client.get("/v1/markets", params={"limit": 50})
            assert listing.status_code == 200 and len(listing.json()["data"]) == len(ids)
            batch = await client.post("/v1/prices", json={"ids": ids, "tier": "T3"})
            assert batch.status_code == 200, batch.text

            # Cached now; a quote written (and notified) through the pooler
            # reaches the listener on the session URL, which drops the entry.
            assert (await price(ids[0], "T3"))["cache"] == "hit"
            async with bounced_pool.acquire() as conn:
                await write_quote(conn, ids[0], [0.2, 0.8])
            for _ in range(100):
                if (await price(ids[0], "T3"))["outcomes"][0]["price"] == 0.2:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the NOTIFY did not reach the API's listener")


async def test_a_statement_cache_through_pgbouncer_fails_as_documented(
    bouncer_url: str,
) -> None:
    """Why DB_STATEMENT_CACHE_SIZE must be 0 behind PgBouncer < 1.21 in transaction mode."""
    pool = await create_pool(bouncer_url, min_size=6, max_size=6, statement_cache_size=100)

    async def reads(n: int) -> None:
        for j in range(30):
            await pool.fetchval(f"SELECT $1::int + {j % 5}", n)

    try:
        with pytest.raises(asyncpg.PostgresError, match="prepared statement"):
            await asyncio.gather(*(reads(n) for n in range(12)))
    finally:
        pool.terminate()
