"""Gold reads market writes from the change stream: each reaches a refresh once, none lost."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from predhub.db.connect import connect
from predhub.gold.refresh import GoldConfig, refresh
from predhub.service.testing import SeedMarket, seed_market

VENUES = ("polymarket", "kalshi")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def config() -> GoldConfig:
    return GoldConfig(venues=VENUES, top_n={v: 5 for v in VENUES}, floors={v: 0.0 for v in VENUES})


async def _seed(conn: asyncpg.Connection, native_id: str) -> int:
    market_id = await seed_market(conn, SeedMarket(venue="kalshi", native_id=native_id))
    # the seeded quotes queue the market too: leave the market write alone to be read
    await conn.execute("DELETE FROM ops.gold_changes")
    return market_id


async def test_a_market_write_reaches_one_refresh_and_a_change_the_next(
    conn: asyncpg.Connection,
) -> None:
    market_id = await _seed(conn, "A")
    assert (await refresh(conn, config(), now=NOW)).market_ids == [market_id]
    assert await conn.fetchval("SELECT volume_24h FROM gold.market_stats") == 1000
    assert (await refresh(conn, config(), now=NOW)).market_ids == []

    await conn.execute("UPDATE silver.markets SET volume_24h = 5 WHERE id = $1", market_id)
    assert (await refresh(conn, config(), now=NOW)).market_ids == [market_id]
    assert await conn.fetchval("SELECT volume_24h FROM gold.market_stats") == 5
    assert await conn.fetchval("SELECT sum(markets) FROM gold.venue_stats") == 1


async def test_a_refresh_that_dies_before_its_commit_leaves_the_markets_to_the_next(
    conn: asyncpg.Connection,
) -> None:
    market_id = await _seed(conn, "A")
    with pytest.raises(RuntimeError):
        async with conn.transaction():  # the refresh's own transaction is a savepoint here
            assert (await refresh(conn, config(), now=NOW)).market_ids == [market_id]
            raise RuntimeError("the worker died")
    assert await conn.fetchval("SELECT count(*) FROM gold.market_stats") == 0
    assert (await refresh(conn, config(), now=NOW)).market_ids == [market_id]
    assert await conn.fetchval("SELECT count(*) FROM gold.market_stats") == 1


async def test_a_stream_that_starts_over_refreshes_every_market(conn: asyncpg.Connection) -> None:
    ids = [await _seed(conn, native) for native in ("A", "B")]
    assert sorted((await refresh(conn, config(), now=NOW)).market_ids) == ids
    # restored into a cluster whose transaction counter is behind the saved snapshot
    await conn.execute(
        "UPDATE ops.change_readers SET seen = '999999999999:999999999999:' WHERE name = 'gold'"
    )
    assert sorted((await refresh(conn, config(), now=NOW)).market_ids) == ids
    assert (await refresh(conn, config(), now=NOW)).market_ids == []


async def test_a_refresh_that_finds_the_reader_held_folds_nothing_and_the_next_takes_it(
    conn: asyncpg.Connection, db_url: str
) -> None:
    """Busy is not start-over: nothing is re-queued or folded, and the market comes to
    the next refresh."""

    market_id = await _seed(conn, "A")
    holder = await connect(db_url)
    try:
        await conn.execute("SET lock_timeout = '5s'")  # a wait fails instead of hanging
        tx = holder.transaction()
        await tx.start()
        await holder.fetchval("SELECT 1 FROM ops.change_readers WHERE name = 'gold' FOR UPDATE")
        busy = await refresh(conn, config(), now=NOW)
        assert busy.busy and busy.market_ids == []
        assert await conn.fetchval("SELECT count(*) FROM ops.gold_changes") == 0
        assert await conn.fetchval("SELECT count(*) FROM gold.market_stats") == 0
        await tx.rollback()
    finally:
        await holder.close()
    again = await refresh(conn, config(), now=NOW)
    assert not again.busy and again.market_ids == [market_id]
