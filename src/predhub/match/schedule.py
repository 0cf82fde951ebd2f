"""When the matcher runs from the worker: every MATCH_INTERVAL_SECONDS, one worker at a time.

It takes the `match` row of `ops.gold_refresh` with the gold refresh's own
lease query, so however many workers run, one matches at a time, and a worker
that dies mid-run loses the lease when it expires.
"""

from __future__ import annotations

import time
from datetime import datetime

import asyncpg
import structlog

from predhub.db.queries import load
from predhub.match.run import MatchConfig, MatchReport, run

log = structlog.get_logger(__name__)

GOLD = load("gold")
NAME = "match"


async def run_due(
    pool: asyncpg.Pool,
    config: MatchConfig,
    owner: str,
    *,
    now: datetime,
    every: float,
    lease_seconds: float,
) -> MatchReport | None:
    """An incremental run if its time has come and this worker wins the lease."""
    if (
        await pool.fetchrow(GOLD.claim_refresh, NAME, owner, now, lease_seconds, every, False)
        is None
    ):
        return None
    started = time.perf_counter()
    try:
        async with pool.acquire() as conn:
            report = await run(conn, config, now=now)
    except BaseException:
        await pool.execute(GOLD.release_refresh, NAME, owner)
        raise
    await pool.execute(
        GOLD.finish_refresh, NAME, owner, now, report.markets, time.perf_counter() - started, 0
    )
    if report.markets:
        log.info(
            "match.ran",
            markets=report.markets,
            candidates=report.candidates,
            proposed=report.proposed,
            deleted=report.deleted,
            seconds=round(report.seconds, 3),
        )
    return report
