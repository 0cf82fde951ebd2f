"""The status report's database size: measured at most once per `max_age`, served with
when it was measured (pg_database_size() stats every relation file, most of the report's
time on a partitioned database)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from predhub.service.status import SizeCache, read_status
from predhub.settings import Settings


def _settings() -> Settings:
    return Settings(_env_file=None)


async def _grow(conn: asyncpg.Connection) -> None:
    """A few hundred kB more on disk, so a fresh measure differs from a kept one."""
    await conn.execute(
        "CREATE TABLE public.status_size_filler AS"
        " SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 2000) g"
    )


async def test_the_first_read_measures_and_says_when(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    sizes = SizeCache()
    doc = await read_status(pool, _settings(), sizes=sizes)
    size = await conn.fetchval("SELECT pg_database_size(current_database())")
    assert 0.8 * size <= doc["database"]["size_bytes"] <= 1.2 * size
    # measured by this very read: its time is the report's
    assert doc["database"]["measured_at"] == doc["as_of"]
    assert sizes.size_bytes == doc["database"]["size_bytes"]


async def test_a_size_younger_than_max_age_is_served_with_its_age(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    sizes = SizeCache(max_age=timedelta(hours=1))
    first = await read_status(pool, _settings(), sizes=sizes)
    await _grow(conn)
    second = await read_status(pool, _settings(), sizes=sizes)
    assert second["database"] == first["database"]
    assert second["as_of"] > second["database"]["measured_at"]
    grown = await conn.fetchval("SELECT pg_database_size(current_database())")
    assert grown > second["database"]["size_bytes"]


async def test_a_size_due_is_measured_again(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    sizes = SizeCache(max_age=timedelta(0))
    first = await read_status(pool, _settings(), sizes=sizes)
    await _grow(conn)
    second = await read_status(pool, _settings(), sizes=sizes)
    assert second["database"]["measured_at"] == second["as_of"] > first["as_of"]
    assert second["database"]["size_bytes"] > first["database"]["size_bytes"]


async def test_without_a_cache_every_read_measures(pool: asyncpg.Pool) -> None:
    doc = await read_status(pool, _settings())
    assert doc["database"]["measured_at"] == doc["as_of"]
    assert doc["database"]["size_bytes"] > 0
