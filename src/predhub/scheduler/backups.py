"""The daily backup: a job of its own, beside the upkeep loop, never inside it.

A backup of a large database takes minutes; run inside the upkeep loop it would
hold back the gold refreshes, the matcher and every prune for as long. Here it
is a task of the worker's own: it sleeps until the next BACKUP_HOUR (UTC), one
worker claims the day's slot, writes a dated `pg_dump` into BACKUP_DIR and
keeps the newest BACKUP_KEEP. With PREDHUB_WAL_ARCHIVE_DIR on the embedded
server it also takes the day's base backup for point-in-time recovery and
keeps as many, with the WAL from the oldest kept one on.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import structlog

from predhub.db import backup, pitr
from predhub.db.embedded import embedded_bin_dir
from predhub.db.errors import BackupFailed, BackupRefused
from predhub.scheduler.periodic import claim_slot, static_slot
from predhub.scheduler.worker import DATABASE_ERRORS, Clock
from predhub.settings import Settings

log = structlog.get_logger(__name__)

BACKUP_ERRORS = (BackupFailed, BackupRefused)
SLEEP_MAX_SECONDS = 60.0  # wake at least this often to notice a stop or a moved clock


async def run_due(pool: asyncpg.Pool, settings: Settings, *, now: datetime) -> Path | None:
    """Take today's backup if it is due and this worker claims it; the file written, or None."""
    if not settings.backup_daily:
        return None
    slot = static_slot(now, "daily", settings.backup_hour)
    if await claim_slot(pool, "*", "backup", slot, now) is None:
        return None
    explicit = settings.explicit_database_url()
    url = explicit or await backup.local_url(pool)
    folder = settings.backups_path()
    result = await backup.backup(url, backup.default_backup_path(folder, now))
    async with pool.acquire() as conn:
        await backup.prune_backups(conn, folder, settings.backup_keep)
    archive = settings.wal_archive_dir
    if archive is not None and not explicit:
        await pitr.base_backup(url, archive)
        pitr.prune_base_backups(archive, settings.backup_keep, embedded_bin_dir())
    return result.path


def seconds_to_next(now: datetime, hour: int) -> float:
    """Seconds from `now` to the next daily slot at `hour` UTC."""
    slot = datetime.fromtimestamp(static_slot(now, "daily", hour), now.tzinfo)
    return ((slot + timedelta(days=1)) - now).total_seconds()


async def run_backups(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, stop: asyncio.Event
) -> None:
    """The daily backup until `stop`; a failure is logged (and recorded in ops.backups, whose
    age the alerts watch) and the next day tries again."""
    if not settings.backup_daily:
        return
    while not stop.is_set():
        try:
            await run_due(pool, settings, now=clock())
        except BACKUP_ERRORS as exc:
            log.warning("worker.backup_failed", error=str(exc))
        except DATABASE_ERRORS as exc:
            log.warning("worker.backup_failed", error=str(exc))
        pause = min(SLEEP_MAX_SECONDS, max(1.0, seconds_to_next(clock(), settings.backup_hour)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
