"""Sync priority rules, applied to every market of a venue in one statement.

The rules, first match wins:

1. resolved or voided within `recently_closed_days` → low (one last pass collects
   the final trades and metadata), earlier → archived (final, never polled);
2. asked for by an API caller within `hot_interest_minutes` → high;
3. open, and trading at least `high_volume_24h_usd` in 24 h or closing within
   `closing_soon_hours` → high;
4. open → normal;
5. closed (trading stopped, outcome pending) within `recently_closed_days` → normal;
6. closed longer ago → low.

The statement only writes rows whose priority changes, so a steady catalogue
costs a scan and no writes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from predhub.db.queries import load
from predhub.settings import Settings

_Q = load("scheduler_worker")

_RECOMPUTE = _Q.recompute_priorities


async def recompute_priorities(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, settings: Settings, now: datetime
) -> int:
    """Re-derive `sync_priority` for every market of `venue`; returns rows changed."""
    changed = await conn.fetchval(
        _RECOMPUTE,
        venue,
        now - timedelta(minutes=settings.hot_interest_minutes),
        settings.high_volume_24h_usd,
        now + timedelta(hours=settings.closing_soon_hours),
        now - timedelta(days=settings.recently_closed_days),
        now,
    )
    return int(changed)
