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

from predhub.settings import Settings

_RECOMPUTE = """
WITH rules AS (
    SELECT id,
           CASE
               WHEN status IN ('resolved', 'voided')
                    AND coalesce(resolved_at, end_at, venue_updated_at, updated_at) >= $5
                    THEN 'low'
               WHEN status IN ('resolved', 'voided') THEN 'archived'
               WHEN interest_at >= $2 THEN 'high'
               WHEN status = 'open' AND (
                        coalesce(volume_24h, 0) >= $3
                        OR (end_at IS NOT NULL AND end_at > $6 AND end_at <= $4)) THEN 'high'
               WHEN status = 'open' THEN 'normal'
               WHEN coalesce(end_at, venue_updated_at, updated_at) >= $5 THEN 'normal'
               ELSE 'low'
           END AS priority
    FROM silver.markets
    WHERE venue = $1
)
UPDATE silver.markets m SET sync_priority = r.priority
FROM rules r
WHERE m.id = r.id AND m.sync_priority IS DISTINCT FROM r.priority
"""


async def recompute_priorities(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, settings: Settings, now: datetime
) -> int:
    """Re-derive `sync_priority` for every market of `venue`; returns rows changed."""
    status = await conn.execute(
        _RECOMPUTE,
        venue,
        now - timedelta(minutes=settings.hot_interest_minutes),
        settings.high_volume_24h_usd,
        now + timedelta(hours=settings.closing_soon_hours),
        now - timedelta(days=settings.recently_closed_days),
        now,
    )
    return int(status.split()[-1])
