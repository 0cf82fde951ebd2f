"""Gold reads market writes from the change stream: each reaches a refresh once, none lost."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

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
