"""DB_CACHE_TTL_SECONDS bounds how long the API process keeps a snapshot; 0 keeps none."""

from __future__ import annotations

import time

import asyncpg
from service_support import make_settings

from predhub.service.cache import SnapshotCache
from predhub.service.notify import Listener
from predhub.service.payload import Snapshot
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


def test_a_shorter_ttl_per_entry_expires_it_sooner() -> None:
    """Rows read from a replica pass DATABASE_READ_MAX_LAG_SECONDS as their own TTL."""
    cache = SnapshotCache(ttl=60)
    row = {
        "id": 1, "venue": "kalshi", "native_id": "K", "condition_id": None, "ticker": "K",
        "slug": None, "question": "?", "status": "open", "event_id": None,
        "event_title": None, "category": None, "end_at": None, "volume_24h": None,
        "volume_total": None, "liquidity": None, "winning_outcome": None, "is_void": False,
        "payouts": None, "resolved_at": None, "quotes_synced_at": None, "as_of": None,
        "outcomes": [],
    }  # fmt: skip
    kept, brief = Snapshot.from_row(row), Snapshot.from_row({**row, "id": 2})
    assert cache.put(kept, cache.token(1))
    assert cache.put(brief, cache.token(2), ttl=0.05)
    time.sleep(0.1)
    assert cache.get(1) is kept
    assert cache.get(2) is None
    # a longer one never extends the process's own TTL
    assert cache.put(brief, cache.token(2), ttl=3600)
    assert cache._entries[2][0] - time.monotonic() <= 60
