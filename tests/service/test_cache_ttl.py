"""DB_CACHE_TTL_SECONDS bounds how long the API process keeps a snapshot; 0 keeps none."""

from __future__ import annotations

import asyncpg
from service_support import make_settings

from predhub.service.notify import Listener
from predhub.service.service import MarketDataService


async def test_the_cache_keeps_rows_for_the_configured_ttl(
    pool: asyncpg.Pool, listener: Listener
) -> None:
    service = MarketDataService(pool, make_settings(db_cache_ttl_seconds=7), listener=listener)
    assert service.cache.ttl == 7
    assert service.cache.enabled


async def test_a_ttl_of_zero_turns_the_cache_off(pool: asyncpg.Pool, listener: Listener) -> None:
    service = MarketDataService(pool, make_settings(db_cache_ttl_seconds=0), listener=listener)
    assert not service.cache.enabled
