"""The worker's upkeep of the research store and the daily backup.

Research store: expired research goes, old analyses move.

One worker per RESEARCH_UPKEEP_MINUTES (a conditional upsert claims the
interval) deletes research past its `expires_at` and moves analyses older
than ANALYSIS_ARCHIVE_DAYS to `app.analysis_archive`, in batches, each batch
one statement, so a crash leaves every row in exactly one place. The work
grows with what expired or aged since the last run, not with the store.

Daily backup (BACKUP_DAILY): one worker claims each day's slot at BACKUP_HOUR
(UTC) and writes a dated backup into BACKUP_DIR, keeping the newest
BACKUP_KEEP.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import structlog

from predhub.db import backup
from predhub.db.queries import load
from predhub.scheduler import retention
from predhub.scheduler.periodic import claim_slot, static_slot
from predhub.settings import Settings

log = structlog.get_logger(__name__)

_Q = load("research")
BATCH = 5000


def _count(status: str) -> int:
    return int(status.split()[-1])


async def research_upkeep(
    pool: asyncpg.Pool | asyncpg.Connection, *, now: datetime, archive_after_days: float
) -> dict[str, int]:
    """Delete expired research and archive old analyses until none is left."""
    out = {"research_expired": 0, "analyses_archived": 0}
    cutoff = now - timedelta(days=archive_after_days)
    while True:
        n = _count(await pool.execute(_Q.delete_expired_research, now, BATCH))
        out["research_expired"] += n
        if n < BATCH:
            break
    while True:
        n = _count(await pool.execute(_Q.archive_analyses, cutoff, BATCH, now))
        out["analyses_archived"] += n
        if n < BATCH:
            break
    if any(out.values()):
        log.info("research.upkeep", **out)
    await retention.record(pool, out, now=now)
    return out


async def run_due(
    pool: asyncpg.Pool, settings: Settings, *, now: datetime
) -> dict[str, int] | None:
    """Run the research upkeep if its interval has come and this worker claims it."""
    every = settings.research_upkeep_minutes * 60
    if await pool.fetchval(_Q.claim_upkeep, now, every) is None:
        return None
    return await research_upkeep(pool, now=now, archive_after_days=settings.analysis_archive_days)


async def backup_due(pool: asyncpg.Pool, settings: Settings, *, now: datetime) -> Path | None:
    """Take today's backup if it is due and this worker claims it; the file written, or None."""
    if not settings.backup_daily:
        return None
    slot = static_slot(now, "daily", settings.backup_hour)
    if await claim_slot(pool, "*", "backup", slot, now) is None:
        return None
    url = settings.explicit_database_url() or await backup.local_url(pool)
    folder = settings.backups_path()
    result = await backup.backup(url, backup.default_backup_path(folder, now))
    async with pool.acquire() as conn:
        await backup.prune_backups(conn, folder, settings.backup_keep)
    return result.path
