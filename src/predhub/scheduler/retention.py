"""Retention: the worker prunes old rows on its own, each kind by its own setting.

Raw history past `BRONZE_RETENTION_DAYS` goes by the worker's hourly
`prune_history` (recorded here as `raw_history`); order-book snapshots
are thinned to one an hour past `BOOK_SNAPSHOTS_FULL_DAYS`, finished jobs go
after `JOBS_RETENTION_HOURS`, loads after `LOADS_RETENTION_DAYS` and
quarantine entries after `QUARANTINE_RETENTION_DAYS`. One worker runs them
every `RETENTION_INTERVAL_MINUTES` (a conditional upsert per interval), and
each prune records its rows and time in `ops.retention_runs` for
`predhub status`. The same pass makes the time partitions of the coming
periods (`predhub.db.partitions.ensure_ahead`), so writes find them ready and
the on-demand path stays for old times (backfills) and odd clocks.

`claim` and `record` are shared with the research store's upkeep
(`housekeeping`): one claim per interval and one record per prune, whatever
the prune.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from predhub.db import partitions
from predhub.db.queries import load, rows_affected
from predhub.scheduler import jobs
from predhub.settings import Settings

log = structlog.get_logger(__name__)

Q = load("scheduler_retention")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def claim(
    conn: asyncpg.Connection | asyncpg.Pool, name: str, *, now: datetime, every: float
) -> bool:
    """Claim the run `name` when `every` seconds have passed since its last claim; at most
    one claimer wins per interval, however many workers ask."""
    return await conn.fetchval(Q.claim_run, f"_{name}", now, every) is not None


async def prune_all(pool: asyncpg.Pool, settings: Settings, *, now: datetime) -> dict[str, int]:
    """Run every prune once; {name: rows pruned}."""
    out: dict[str, int] = {}
    async with pool.acquire() as conn:
        made = await partitions.ensure_ahead(conn, now)
        if made:
            log.info("retention.partitions_made", partitions=made)
        cutoff = now - timedelta(days=settings.book_snapshots_full_days)
        previous = await conn.fetchval(Q.last_prune, "book_snapshots")
        since = (
            _EPOCH
            if previous is None
            else previous - timedelta(days=settings.book_snapshots_full_days, hours=1)
        )
        out["book_snapshots"] = rows_affected(
            await conn.execute(Q.thin_book_snapshots, cutoff, since)
        )
        out["jobs"] = await jobs.prune(
            conn, before=now - timedelta(hours=settings.jobs_retention_hours)
        )
        out["loads"] = rows_affected(
            await conn.execute(Q.prune_loads, now - timedelta(days=settings.loads_retention_days))
        )
        out["quarantine"] = rows_affected(
            await conn.execute(
                Q.prune_quarantine, now - timedelta(days=settings.quarantine_retention_days)
            )
        )
        await record(conn, out, now=now)
    log.info("retention.pruned", **out)
    return out


async def run_due(
    pool: asyncpg.Pool, settings: Settings, *, now: datetime
) -> dict[str, int] | None:
    """Prune if this interval's run is still unclaimed and this worker claims it."""
    if not await claim(pool, "claim", now=now, every=settings.retention_interval_minutes * 60):
        return None
    return await prune_all(pool, settings, now=now)


async def record(
    conn: asyncpg.Connection | asyncpg.Pool, pruned: dict[str, int], *, now: datetime
) -> None:
    """Record each prune's rows for `predhub status` (the raw-history prune and the
    research upkeep's too)."""
    for name, rows in pruned.items():
        await conn.execute(Q.record_prune, name, now, rows)


async def state(conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    """Every prune's last run, for `predhub status`."""
    return list(await conn.fetch(Q.retention_state))
