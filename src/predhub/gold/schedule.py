"""When gold refreshes, and who: cadences from settings, one worker at a time by lease.

Two cadences share one refresh. `hot` (every `GOLD_HOT_SECONDS`) folds in what
changed; `warm` (every `GOLD_WARM_SECONDS`) first re-queues the markets whose
moves or 48 h activity change as time passes (the windows slide), then folds
them in. Each is a row in `ops.gold_refresh`: a worker takes it with one
conditional upsert when its cadence has come and no live lease holds it, so
however many workers run, one refreshes at a time, and a worker that dies
mid-refresh loses the lease when it expires.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from predhub.db.queries import load
from predhub.gold.refresh import GoldConfig, RefreshReport, mark_active, refresh

log = structlog.get_logger(__name__)

Q = load("gold")
HOT = "hot"
WARM = "warm"


@dataclass(frozen=True, slots=True)
class Cadence:
    name: str
    seconds: float


async def claim(
    pool: asyncpg.Pool, name: str, owner: str, *, now: datetime, every: float, lease: float
) -> bool:
    """Take the `name` refresh if its cadence has come and nobody holds it.

    The hot refresh is also due whenever the last one folded nothing and changes
    wait: the first load's markets reach the ranked tables within one upkeep loop.
    """
    eager = name == HOT
    return await pool.fetchrow(Q.claim_refresh, name, owner, now, lease, every, eager) is not None


async def run_due(
    pool: asyncpg.Pool,
    config: GoldConfig,
    cadences: tuple[Cadence, ...],
    owner: str,
    *,
    now: datetime,
    lease_seconds: float,
) -> dict[str, RefreshReport]:
    """Run every cadence whose time has come and whose lease this worker wins."""
    done: dict[str, RefreshReport] = {}
    for cadence in cadences:
        if not await claim(
            pool, cadence.name, owner, now=now, every=cadence.seconds, lease=lease_seconds
        ):
            continue
        started = time.perf_counter()
        try:
            async with pool.acquire() as conn:
                if cadence.name == WARM:
                    await mark_active(conn)
                report = await refresh(conn, config, now=now)
        except BaseException:
            await pool.execute(Q.release_refresh, cadence.name, owner)
            raise
        await pool.execute(
            Q.finish_refresh,
            cadence.name,
            owner,
            now,
            report.markets,
            time.perf_counter() - started,
            0,
        )
        log.info(
            "gold.refreshed",
            cadence=cadence.name,
            markets=report.markets,
            events=report.events,
            seconds=round(report.seconds, 3),
        )
        done[cadence.name] = report
    return done
