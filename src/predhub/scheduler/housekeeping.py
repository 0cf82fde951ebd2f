"""The worker's upkeep of the research store: expired research goes, old analyses move.

One worker per RESEARCH_UPKEEP_MINUTES (claimed like the other prunes, through
`retention.claim`) deletes research past its `expires_at` and moves analyses
older than ANALYSIS_ARCHIVE_DAYS to `app.analysis_archive`, in batches, each
batch one statement, so a crash leaves every row in exactly one place. The work
grows with what expired or aged since the last run, not with the store. Its
counts are recorded with the other prunes' for `predhub status`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import structlog

from predhub.db.queries import load, rows_affected
from predhub.scheduler import retention
from predhub.settings import Settings

log = structlog.get_logger(__name__)

_Q = load("research")
BATCH = 5000
CLAIM = "research_claim"


async def _in_batches(pool: asyncpg.Pool | asyncpg.Connection, sql: str, *args: object) -> int:
    """Run a statement that handles up to BATCH rows until a run handles fewer."""
    done = 0
    while True:
        n = rows_affected(await pool.execute(sql, *args))
        done += n
        if n < BATCH:
            return done


async def research_upkeep(
    pool: asyncpg.Pool | asyncpg.Connection, *, now: datetime, archive_after_days: float
) -> dict[str, int]:
    """Delete expired research and archive old analyses until none is left."""
    cutoff = now - timedelta(days=archive_after_days)
    out = {
        "research_expired": await _in_batches(pool, _Q.delete_expired_research, now, BATCH),
        "analyses_archived": await _in_batches(pool, _Q.archive_analyses, cutoff, BATCH, now),
    }
    if any(out.values()):
        log.info("research.upkeep", **out)
    await retention.record(pool, out, now=now)
    return out


async def run_due(
    pool: asyncpg.Pool, settings: Settings, *, now: datetime
) -> dict[str, int] | None:
    """Run the research upkeep if its interval has come and this worker claims it."""
    every = settings.research_upkeep_minutes * 60
    if not await retention.claim(pool, CLAIM, now=now, every=every):
        return None
    return await research_upkeep(pool, now=now, archive_after_days=settings.analysis_archive_days)
