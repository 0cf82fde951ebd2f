"""Exactly one refresh per market at a time, inside a process and across processes.

Inside a process, the first request for a stale market creates a future and
starts the refresh as a task of its own; later requests for the same market
await that future (a cancelled client never cancels the refresh others wait
for). Across processes, the refresh runs while holding a transaction-scoped
PostgreSQL advisory lock keyed on the market id. A process that cannot take a
lock waits for it, then re-reads: the row the other process wrote back is
then fresh and no upstream call is made.

"Fresh" is measured against the caller's arrival, not against the moment of
the check: a caller asking at `t` with max age `a` is served by any row synced
at or after `t - a` (`not_before`). A row written by a refresh that finished
after the caller asked is fresh enough for it, even with a max age of 0, which
"synced within 0 seconds of now" can never be once the caller has waited. A
row the other process wrote before the caller asked (its lock was still held
when the caller arrived) is not: the waiting process, then holding the lock,
refreshes it itself.

Markets are grouped per venue so that one batch refresh covers many markets:
300 stale ids cost the adapter's few batch requests, not 300.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import asyncpg
import structlog

from predhub.db.errors import DATABASE_FAILURES
from predhub.errors import PredhubError
from predhub.service import metrics, queries
from predhub.service.errors import RefreshTimedOut
from predhub.service.refresh import Refresher

log = structlog.get_logger(__name__)

T = TypeVar("T")

LOCK_NAMESPACE = 0x70726571  # "preq": market refresh locks
LOCK_WAIT_SECONDS = 15.0
FAILURE_BACKOFF_SECONDS = 2.0
BATCH_WINDOW_SECONDS = 0.002

# The stale reason of a refresh that failed on a bug (the log has the traceback).
INTERNAL_REASON = "internal error during refresh"

# The result for each market: None when refreshed, else the reason it was not.
Outcome = str | None


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


async def within(seconds: float, awaitable: Awaitable[T]) -> T:
    """Await a refresh for at most `seconds`; past that, `RefreshTimedOut`."""
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError:
        raise RefreshTimedOut(f"no answer within {seconds:g} s") from None


def failure_reason(exc: Exception, venue: str) -> str:
    """The stale reason for a refresh that raised `exc`: the one place failures are worded.

    A `PredhubError` is an expected failure and says what went wrong, as does
    a database outage. Anything else is a bug: it is logged with its traceback
    and counted, and the caller only learns that the refresh failed inside the hub.
    """
    if isinstance(exc, (PredhubError, *DATABASE_FAILURES)):
        return describe(exc)
    metrics.REFRESH_BUGS.labels(venue).inc()
    log.error("service.refresh_bug", venue=venue, error=describe(exc), exc_info=exc)
    return INTERNAL_REASON


@dataclass(slots=True)
class _Pending:
    """A venue's batch about to leave: the ids riding on it, and the newest `not_before`."""

    not_before: datetime
    ids: list[int] = field(default_factory=list)


class SingleFlight:
    def __init__(
        self,
        pool: asyncpg.Pool,
        refresher: Refresher,
        *,
        refresh_timeout: float = 30.0,
        failure_backoff: float = FAILURE_BACKOFF_SECONDS,
        lock_pool: asyncpg.Pool | None = None,
        batch_window: float = BATCH_WINDOW_SECONDS,
    ) -> None:
        # Lock-holding transactions must never take the connections the refresh itself
        # needs to write back: with one pool, enough concurrent leaders would starve
        # ingestion and wait forever. A separate lock pool (or, sharing one, at most
        # half of it) bounds them.
        self._pool = lock_pool or pool
        slots = lock_pool.get_max_size() if lock_pool is not None else pool.get_max_size() // 2
        self._slots = asyncio.Semaphore(max(1, slots))
        self._batch_window = batch_window
        self._pending: dict[tuple[str, bool], _Pending] = {}
        self._refresher = refresher
        self._refresh_timeout = refresh_timeout
        self._failure_backoff = failure_backoff
        self._inflight: dict[int, asyncio.Future[Outcome]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._venue_failures: dict[str, tuple[float, str]] = {}
        self.upstream_batches = 0

    def recent_failure(self, venue: str) -> str | None:
        """The reason a venue's last refresh failed, while still within the backoff."""
        failure = self._venue_failures.get(venue)
        if failure is None:
            return None
        at, reason = failure
        if time.monotonic() - at > self._failure_backoff:
            return None
        return reason

    def start(
        self, venues: Mapping[int, str], not_before: datetime, *, force: bool = False
    ) -> dict[int, asyncio.Future[Outcome]]:
        """Futures for these markets' refreshes, joining any already running.

        `not_before` is the oldest sync the caller accepts (its arrival minus its
        max age). A joined refresh may have fetched before the caller asked: the
        caller checks the row it gets and starts again if it is still too old.
        """
        futures: dict[int, asyncio.Future[Outcome]] = {}
        mine: dict[str, list[int]] = defaultdict(list)
        loop = asyncio.get_running_loop()
        for market_id, venue in venues.items():
            running = self._inflight.get(market_id)
            if running is not None:
                metrics.SINGLEFLIGHT_JOINS.labels("process").inc()
                futures[market_id] = running
                pending = self._pending.get((venue, force))
                if pending is not None:  # not left yet: hold it to this caller's freshness
                    pending.not_before = max(pending.not_before, not_before)
                continue
            future: asyncio.Future[Outcome] = loop.create_future()
            self._inflight[market_id] = future
            futures[market_id] = future
            mine[venue].append(market_id)
        for venue, ids in mine.items():
            key = (venue, force)
            pending = self._pending.get(key)
            if pending is not None:
                # A batch for this venue is about to leave: ride along, and hold it to
                # the strictest freshness any of its riders asked for.
                pending.ids.extend(ids)
                pending.not_before = max(pending.not_before, not_before)
                continue
            self._pending[key] = _Pending(not_before, list(ids))
            task = asyncio.create_task(self._batch(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return futures

    async def _batch(self, key: tuple[str, bool]) -> None:
        """Gather the stale ids of concurrent requests, then refresh them in one batch.

        The batch stays open while it waits for a lock slot, so under load the ids of
        many requests leave together: fewer, larger upstream calls instead of a queue.
        """
        venue, force = key
        async with self._slots:
            await asyncio.sleep(self._batch_window)
            pending = self._pending.pop(key, None)
            if pending is None:
                return
            await self._lead(venue, sorted(set(pending.ids)), pending.not_before, force)

    def _settle(self, outcomes: Mapping[int, Outcome]) -> None:
        for market_id, outcome in outcomes.items():
            future = self._inflight.pop(market_id, None)
            if future is not None and not future.done():
                future.set_result(outcome)

    async def _lead(self, venue: str, ids: list[int], not_before: datetime, force: bool) -> None:
        outcomes: dict[int, Outcome] = {}
        try:
            outcomes = await self._refresh_locked(venue, ids, not_before, force)
        except Exception as exc:  # the refresh boundary: every failure becomes a reason
            outcomes = dict.fromkeys(ids, failure_reason(exc, venue))
        finally:
            for market_id in ids:
                outcomes.setdefault(market_id, "refresh did not complete")
            self._settle(outcomes)

    async def _refresh_locked(
        self, venue: str, ids: list[int], not_before: datetime, force: bool
    ) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        async with self._pool.acquire() as conn, conn.transaction():
            locked = sorted(
                int(r["k"]) for r in await conn.fetch(queries.TRY_LOCKS, ids, LOCK_NAMESPACE)
            )
            if locked:
                stale = locked
                if not force:
                    rows = await conn.fetch(queries.STILL_STALE, locked, not_before)
                    stale = sorted(int(r["id"]) for r in rows)
                    outcomes.update(dict.fromkeys(set(locked) - set(stale)))
                if stale:
                    outcomes.update(await self._call_venue(venue, stale))
        waiting = sorted(set(ids) - set(outcomes))
        if waiting:
            metrics.SINGLEFLIGHT_JOINS.labels("cluster").inc(len(waiting))
            outcomes.update(await self._wait_then_lead(venue, waiting, not_before))
        return outcomes

    async def _call_venue(self, venue: str, ids: list[int]) -> dict[int, Outcome]:
        self.upstream_batches += 1
        started = time.perf_counter()
        try:
            await within(self._refresh_timeout, self._refresher.refresh_quotes(venue, ids))
        except Exception as exc:  # the refresh boundary: every failure becomes a reason
            reason = failure_reason(exc, venue)
            self._venue_failures[venue] = (time.monotonic(), reason)
            metrics.REFRESHES.labels(venue, "error").inc()
            log.warning("service.refresh_failed", venue=venue, markets=len(ids), reason=reason)
            return dict.fromkeys(ids, reason)
        finally:
            metrics.REFRESH_SECONDS.labels(venue).observe(time.perf_counter() - started)
        self._venue_failures.pop(venue, None)
        metrics.REFRESHES.labels(venue, "ok").inc()
        metrics.REFRESHED_MARKETS.labels(venue).inc(len(ids))
        return dict.fromkeys(ids)

    async def _wait_then_lead(
        self, venue: str, ids: list[int], not_before: datetime
    ) -> dict[int, Outcome]:
        """Wait for other processes' refreshes of these markets, then re-check, holding the locks.

        The row the other process wrote is usually fresh enough. When it is not
        (that refresh fetched before our callers asked, or its callers were
        content with an older row), this process, now holding the locks,
        refreshes those rows itself: waiting again could meet yet another
        holder with older callers, and the caller would be answered stale.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{int(LOCK_WAIT_SECONDS * 1000)}ms'")
            try:
                await conn.fetchval(queries.WAIT_LOCKS, ids, LOCK_NAMESPACE)
            except asyncpg.LockNotAvailableError:
                return dict.fromkeys(ids, "a refresh in another process is still running")
            rows = await conn.fetch(queries.STILL_STALE, ids, not_before)
            still = sorted(int(r["id"]) for r in rows)
            outcomes: dict[int, Outcome] = dict.fromkeys(ids)
            if still:
                outcomes.update(await self._call_venue(venue, still))
        return outcomes

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def wait_outcomes(
    futures: Mapping[int, asyncio.Future[Outcome]], wait_seconds: float
) -> dict[int, Outcome]:
    """Each future's outcome, or a 'still running' reason for those past the timeout."""
    if not futures:
        return {}
    pending: Sequence[asyncio.Future[Outcome]] = list(futures.values())
    await asyncio.wait([asyncio.shield(f) for f in pending], timeout=wait_seconds)
    out: dict[int, Outcome] = {}
    for market_id, future in futures.items():
        if future.done() and not future.cancelled():
            out[market_id] = future.result()
        else:
            out[market_id] = f"the refresh is still running after {wait_seconds:g} s"
    return out
