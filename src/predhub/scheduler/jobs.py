"""The job queue in `ops.jobs`: enqueue with dedupe, claim with leases, finish.

Claiming is `FOR UPDATE SKIP LOCKED` over queued jobs whose time has come and
running jobs whose lease has expired (their worker died), so any number of
workers share one queue without ever holding the same job at once; a crashed
worker's job is taken over once its lease runs out. The database enforces the
dedupe: one live job per `dedupe_key` (a partial unique index). Every job is
idempotent (ingestion upserts, trades resume from their watermark), so running
a job a second time after a takeover is harmless.

Times are passed in rather than read from the server's clock so that the
engine can run on a simulated clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from predhub.db.queries import load

_Q = load("scheduler_jobs")


@dataclass(frozen=True, slots=True)
class NewJob:
    venue: str
    kind: str
    dedupe_key: str
    market_ids: tuple[int, ...] = ()
    priority: int = 0
    cost: int = 1
    cycle: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    venue: str
    kind: str
    dedupe_key: str
    market_ids: tuple[int, ...]
    priority: int
    cost: int
    cycle: int | None
    attempts: int
    payload: dict[str, Any]
    lease_owner: str | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Job:
        return cls(
            id=row["id"],
            venue=row["venue"],
            kind=row["kind"],
            dedupe_key=row["dedupe_key"],
            market_ids=tuple(row["market_ids"]),
            priority=row["priority"],
            cost=row["cost"],
            cycle=row["cycle"],
            attempts=row["attempts"],
            payload=dict(row["payload"] or {}),
            lease_owner=row["lease_owner"],
        )


_ENQUEUE_COLS = _Q.enqueue


async def enqueue(
    conn: asyncpg.Connection | asyncpg.Pool, jobs: Sequence[NewJob], *, now: datetime
) -> int:
    """Insert jobs in one statement; a job whose dedupe key is live is skipped."""
    if not jobs:
        return 0
    rows = await conn.fetch(
        _ENQUEUE_COLS,
        [j.venue for j in jobs],
        [j.kind for j in jobs],
        [j.dedupe_key for j in jobs],
        ["{" + ",".join(str(i) for i in j.market_ids) + "}" for j in jobs],
        [j.priority for j in jobs],
        [j.cost for j in jobs],
        [j.cycle for j in jobs],
        [j.payload for j in jobs],
        [now] * len(jobs),
    )
    return len(rows)


_CLAIM = _Q.claim


async def claim(
    conn: asyncpg.Connection | asyncpg.Pool,
    venue: str,
    owner: str,
    *,
    now: datetime,
    lease_seconds: float,
    limit: int = 1,
) -> list[Job]:
    """Lease up to `limit` runnable jobs of `venue` (highest priority first)."""
    rows = await conn.fetch(_CLAIM, venue, owner, now, limit, lease_seconds)
    jobs = [Job.from_row(r) for r in rows]
    jobs.sort(key=lambda j: (-j.priority, j.id))
    return jobs


async def extend_lease(
    conn: asyncpg.Connection | asyncpg.Pool,
    job: Job,
    owner: str,
    *,
    now: datetime,
    lease_seconds: float,
) -> bool:
    """Keep a long job's lease alive; False when another worker took it over."""
    status = await conn.execute(
        _Q.extend_lease,
        job.id,
        owner,
        now,
        lease_seconds,
    )
    return bool(status == "UPDATE 1")


async def complete(
    conn: asyncpg.Connection | asyncpg.Pool, job: Job, owner: str, *, now: datetime
) -> bool:
    """Mark the job done; False when the lease had passed to another worker."""
    status = await conn.execute(
        _Q.complete,
        job.id,
        owner,
        now,
    )
    return bool(status == "UPDATE 1")


async def fail(
    conn: asyncpg.Connection | asyncpg.Pool,
    job: Job,
    owner: str,
    *,
    now: datetime,
    error: str,
    retry_in: float,
    max_attempts: int,
) -> str:
    """Requeue the job after `retry_in` seconds, or give up after `max_attempts`.

    Returns the job's new status ('queued' or 'failed'), or '' when the lease
    had passed to another worker.
    """
    row = await conn.fetchrow(
        _Q.fail,
        job.id,
        owner,
        now,
        max_attempts,
        retry_in,
        error,
    )
    return str(row["status"]) if row else ""


async def release(
    conn: asyncpg.Connection | asyncpg.Pool,
    job: Job,
    owner: str,
    *,
    run_after: datetime,
) -> None:
    """Give a claimed job back untouched (no budget left): it does not count as an attempt."""
    await conn.execute(
        _Q.release,
        job.id,
        owner,
        run_after,
    )


async def busy_markets(conn: asyncpg.Connection | asyncpg.Pool, venue: str) -> dict[str, set[int]]:
    """Markets in live jobs of `venue`, by job kind (the planner leaves them out)."""
    rows = await conn.fetch(
        _Q.busy_markets,
        venue,
    )
    out: dict[str, set[int]] = {}
    for r in rows:
        out.setdefault(r["kind"], set()).add(r["market_id"])
    return out


async def drop_unstarted(conn: asyncpg.Connection | asyncpg.Pool, venue: str) -> int:
    """Delete planned jobs of `venue` that no worker has started (the planner redoes them).

    A job being claimed at the same moment is locked by its claimer; once the
    claim commits the row is running and no longer matches, so it survives.
    """
    status = await conn.execute(
        _Q.drop_unstarted,
        venue,
    )
    return int(status.split()[-1])


async def queued_cost(conn: asyncpg.Connection | asyncpg.Pool, venue: str) -> int:
    """Requests already waiting in the queue for `venue`."""
    value = await conn.fetchval(
        _Q.queued_cost,
        venue,
    )
    return int(value)


async def prune(conn: asyncpg.Connection | asyncpg.Pool, *, before: datetime) -> int:
    """Delete finished jobs older than `before` (the queue stays small)."""
    status = await conn.execute(_Q.prune, before)
    return int(status.split()[-1])
