"""The price history rollup: dirty 15-minute buckets into 15-minute, hourly and daily OHLC.

Writers mark the buckets they touch (`predhub.ingest.silver.history`); a
rollup takes those marks and recomputes exactly those buckets, the hours and
days that hold them, and the price changes of their markets, then prunes each
resolution past its retention. It runs in one transaction holding the
rollup's row lock, so one worker rolls up at a time and a crash leaves the
marks for the next run. Its cost follows what changed since the last run,
never the length of history.

The points (`silver.price_history`) are partitioned by week: after the
rollup commits, every week wholly older than HISTORY_1M_RETENTION_DAYS whose
buckets are all rolled up is detached and dropped, never deleted row by row
(points are kept at least the retention, at most a week longer). The 15-minute
and hourly OHLC tables are small and stay row-deleted.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from predhub.db import partitions
from predhub.db.queries import load, rows_affected
from predhub.settings import Settings

_Q = load("history")

# Buckets one run takes at most; the rest waits for the next run.
MAX_BUCKETS_PER_RUN = 50_000


@dataclass(frozen=True, slots=True)
class RollupReport:
    """What one rollup did; `ran` is False when another worker holds it or it is not due."""

    ran: bool
    buckets: int = 0
    markets: frozenset[int] = frozenset()
    pruned: int = 0


@contextlib.asynccontextmanager
async def _connection(db: asyncpg.Pool | asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(db, asyncpg.Connection):
        yield db
    else:
        async with db.acquire() as conn:
            yield conn


async def rollup(
    pool: asyncpg.Pool | asyncpg.Connection,
    settings: Settings,
    *,
    now: datetime,
    owner: str = "",
    force: bool = False,
) -> RollupReport:
    """Roll up what changed since the last run, if due (`force`: whatever the cadence)."""
    every = 0.0 if force else settings.history_rollup_seconds
    async with _connection(pool) as conn:
        async with conn.transaction():
            if await conn.fetchval(_Q.claim_rollup, now, every) is None:
                return RollupReport(ran=False)
            await conn.execute(_Q.create_rollup_temp)
            buckets = int(await conn.fetchval(_Q.take_dirty, MAX_BUCKETS_PER_RUN) or 0)
            markets: frozenset[int] = frozenset()
            if buckets:
                await conn.execute(_Q.rollup_15m)
                await conn.execute(_Q.rollup_1h)
                await conn.execute(_Q.rollup_1d)
                markets = frozenset(
                    r["market_id"] for r in await conn.fetch(_Q.update_changes, now)
                )
            pruned = await _prune_rollups(conn, settings, now)
            await conn.execute(_Q.finish_rollup, now, buckets, len(markets), pruned, owner)
        # Outside the rollup's transaction, so the detach is concurrent.
        dropped = await drop_points(conn, settings, now)
        if dropped:
            await conn.execute(_Q.add_pruned, dropped)
    return RollupReport(ran=True, buckets=buckets, markets=markets, pruned=pruned + dropped)


async def drop_points(conn: asyncpg.Connection, settings: Settings, now: datetime) -> int:
    """Drop the weeks of points wholly past their retention and fully rolled up; rows dropped."""
    cutoff = now - timedelta(days=settings.history_1m_retention_days)

    async def waiting(lo: datetime, hi: datetime) -> bool:
        return bool(await conn.fetchval(_Q.dirty_between, lo, hi))

    return (await partitions.drop_before(conn, partitions.PRICE_HISTORY, cutoff, keep=waiting)).rows


async def _prune_rollups(conn: asyncpg.Connection, settings: Settings, now: datetime) -> int:
    """Delete the 15-minute and hourly OHLC past their retention (0 days: kept forever)."""
    pruned = 0
    if settings.history_15m_retention_days:
        cutoff = now - timedelta(days=settings.history_15m_retention_days)
        pruned += rows_affected(await conn.execute(_Q.prune_15m, cutoff))
    if settings.history_1h_retention_days:
        cutoff = now - timedelta(days=settings.history_1h_retention_days)
        pruned += rows_affected(await conn.execute(_Q.prune_1h, cutoff))
    return pruned


async def backfill_candidates(pool: asyncpg.Pool, venue: str, limit: int) -> list[int]:
    """The venue's next markets whose past prices were never fetched."""
    return [int(r["id"]) for r in await pool.fetch(_Q.backfill_candidates, venue, limit)]
