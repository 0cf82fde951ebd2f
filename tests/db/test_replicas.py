"""API reads on a real streaming replica (pg_basebackup of the embedded primary).

Reads go to the replica and say its lag; writes (interest marks, refreshes)
go to the primary; a paused replica's lag shows in the answers' `age` and
`replica_lag` until it passes DATABASE_READ_MAX_LAG_SECONDS, when reads fall
back to the primary; resumed, it serves again.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from predhub.api.app import create_app
from predhub.db import migrate
from predhub.db.connect import connect, create_pool
from predhub.db.replicas import ReadRouter, view_as_of
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market, write_quote
from predhub.settings import Settings

from .replication import Pair, primary_and_replica

MAX_LAG = 2.0


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20) -> None:
    """Poll `check` until it holds; fail past `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not true within {within} s")


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    # A directory of its own, not pytest's tmp_path: concurrent pytest sessions prune
    # each other's old numbered temporary directories, data directories included.
    root = Path(tempfile.mkdtemp(prefix="predhub-test-replica-"))
    try:
        with primary_and_replica(root) as servers:
            conn = await connect(servers.primary_url)
            try:
                await migrate.upgrade(conn)
            finally:
                await conn.close()
            yield servers
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def _replica_has(replica: asyncpg.Connection, market_id: int, price: float) -> bool:
    got = await replica.fetchval(
        "SELECT price FROM silver.quotes WHERE market_id = $1 ORDER BY outcome_id LIMIT 1",
        market_id,
    )
    return got is not None and float(got) == price


async def test_reads_from_the_replica_writes_on_the_primary_lag_in_answers(pair: Pair) -> None:
    primary = await connect(pair.primary_url)
    replica = await connect(pair.replica_url)
    pool = await create_pool(pair.primary_url, min_size=1, max_size=4)
    try:
        assert await replica.fetchval("SELECT pg_is_in_recovery()")
        market = await seed_market(primary, SeedMarket(native_id="r1", prices=(0.6, 0.4)))
        stale = await seed_market(
            primary, SeedMarket(native_id="r2", prices=(0.5, 0.5), synced_ago=600)
        )
        await eventually(lambda: _replica_has(replica, stale, 0.5))

        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_read_urls=pair.replica_url,
            database_read_max_lag_seconds=MAX_LAG,
            db_cache_ttl_seconds=0,  # every answer reads the database
        )
        app = create_app(settings, database_url=pair.primary_url, refresher=WritingRefresher(pool))
        async with app.router.lifespan_context(app):
            router: ReadRouter = app.state.api.service.reads
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

                async def price(market_id: int, tier: str = "T3") -> dict[str, Any]:
                    r = await client.get(f"/v1/markets/{market_id}/price", params={"tier": tier})
                    assert r.status_code == 200, r.text
                    body: dict[str, Any] = r.json()
                    return body

                # A read goes to the replica and says how far behind it was.
                before = router.replicas[0].reads
                body = await price(market)
                assert router.replicas[0].reads > before
                assert body["outcomes"][0]["price"] == 0.6
                assert body["replica_lag"] is not None and body["age"] >= body["replica_lag"]

                # Writes go to the primary: the read's interest mark lands there
                # (the replica refuses writes), and so does a refresh, whose
                # answer is re-read from the primary (no replica lag).
                await eventually(
                    lambda: _fetch_true(
                        primary,
                        "SELECT interest_at IS NOT NULL FROM silver.market_sync WHERE market_id=$1",
                        market,
                    )
                )
                refreshed = await price(stale, tier="T2a")
                assert refreshed["cache"] == "refreshed"
                assert refreshed["outcomes"][0]["price"] == 0.7
                assert refreshed["replica_lag"] is None

                # Paused, the replica keeps serving the old row, its lag growing
                # in the answer, until the lag passes the limit.
                await replica.execute("SELECT pg_wal_replay_pause()")
                await write_quote(primary, market, [0.9, 0.1])
                written = datetime.now(UTC)
                await asyncio.sleep(1.0)
                body = await price(market)
                assert body["outcomes"][0]["price"] == 0.6  # read from the paused replica
                behind = (datetime.now(UTC) - written).total_seconds()
                assert body["replica_lag"] >= behind - 0.05  # its view predates the write
                assert body["age"] >= body["replica_lag"]

                # Past DATABASE_READ_MAX_LAG_SECONDS the replica is skipped: the
                # primary answers, with the new price and no replica lag.
                await asyncio.sleep(MAX_LAG + 0.5)
                body = await price(market)
                assert body["outcomes"][0]["price"] == 0.9
                assert body["replica_lag"] is None
                standing = router.standing()[0]
                assert standing["used"] is False and "past" in str(standing["problem"])

                # Resumed, it catches up and serves again.
                await replica.execute("SELECT pg_wal_replay_resume()")
                await eventually(lambda: _replica_has(replica, market, 0.9))
                await eventually(lambda: _served_by_replica(price, market))
    finally:
        await pool.close()
        await replica.close()
        await primary.close()


async def _fetch_true(conn: asyncpg.Connection, sql: str, *args: object) -> bool:
    return bool(await conn.fetchval(sql, *args))


async def _served_by_replica(
    price: Callable[[int], Awaitable[dict[str, Any]]], market_id: int
) -> bool:
    body = await price(market_id)
    return body["replica_lag"] is not None and body["outcomes"][0]["price"] == 0.9


async def test_a_replica_that_is_no_standby_or_unreachable_is_skipped(pair: Pair) -> None:
    pool = await create_pool(pair.primary_url, min_size=1, max_size=2)
    unreachable = "postgresql://postgres@127.0.0.1:1/postgres"
    router = ReadRouter(pool, [pair.primary_url, unreachable, pair.replica_url], max_lag=MAX_LAG)
    try:
        await router.start()
        standing = {s["replica"]: s for s in router.standing()}
        assert "not a standby" in str(standing[pair.primary_url]["problem"])
        assert "unreachable" in str(standing[unreachable]["problem"])
        assert standing[pair.replica_url]["used"] is True
        targets = {router.target().replica for _ in range(6)}
        assert targets == {pair.replica_url}
    finally:
        await router.stop()
        await pool.close()


def test_view_as_of_rule() -> None:
    probed = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    replayed = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    args = {"probed_at": probed, "in_recovery": True, "replayed_at": replayed}
    # Caught up: current as of the probe however long ago the last commit was.
    assert view_as_of(primary_lsn=100, replay_lsn=100, **args) == (probed, None)
    # Behind: complete up to its last replayed commit.
    assert view_as_of(primary_lsn=101, replay_lsn=100, **args) == (replayed, None)
    assert view_as_of(primary_lsn=1, replay_lsn=None, **args)[0] is None
    no_standby = {**args, "in_recovery": False}
    assert view_as_of(primary_lsn=1, replay_lsn=1, **no_standby)[0] is None
