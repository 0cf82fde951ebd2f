"""One worker process: a loop per enabled venue, plus live streams where venues have them.

Venues are independent tasks: an adapter that cannot be built, or a venue
that is down, is logged and left out (or backs off) while the others go on.
The stream consumers run on a thread with an event loop of their own
(`STREAM_THREAD`, `scheduler.streamthread`) when the worker knows its
database's address, so job work does not queue their messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import timedelta

import asyncpg
import structlog

from predhub.db.queries import load
from predhub.ingest.pipeline import Ingestor
from predhub.scheduler import backups
from predhub.scheduler.exporter import run_exporter
from predhub.scheduler.maintenance import run_upkeep, upkeep_once
from predhub.scheduler.streams import StreamConsumer
from predhub.scheduler.streamthread import StreamThread
from predhub.scheduler.worker import Clock, CycleReport, VenueWorker, utc_now, worker_id
from predhub.settings import Settings
from predhub.tasks import cancel_and_wait
from predhub.venues.base import Venue, VenueError
from predhub.venues.budget import minute_of
from predhub.venues.registry import build_venue

_Q = load("scheduler_jobs")

log = structlog.get_logger(__name__)

STOP_GRACE_SECONDS = 10.0
ONCE_MAX_CYCLES = 30
PENDING_WAIT_MAX_SECONDS = 30.0
BuildVenue = Callable[[str, Settings], Venue]


async def catch_up(worker: VenueWorker, *, max_cycles: int = ONCE_MAX_CYCLES) -> CycleReport:
    """Cycles (each draining its jobs) until one finds nothing to do; the last report.

    A static load in the first cycle brings markets the next cycle plans, so
    "once" means "until caught up", which is what a cron job or a test wants.
    """
    total = CycleReport(worker.name, 0)
    for _ in range(max_cycles):
        report = await worker.cycle(drain=True)
        total.cycle = report.cycle
        total.planned |= report.planned
        total.enqueued += report.enqueued
        total.jobs_done += report.jobs_done
        total.jobs_failed += report.jobs_failed
        total.requests += report.requests
        total.deferred += report.deferred
        total.breaker_open = report.breaker_open
        if report.deferred:  # the shared budget is spent: wait for the next minute
            now = worker.clock()
            await asyncio.sleep((minute_of(now) + timedelta(minutes=1) - now).total_seconds())
            continue
        if not report.jobs_done or report.jobs_failed:
            wait = await seconds_until_pending_work(worker)
            if wait is None:
                break
            # Jobs are still owed: a failed job waiting for its retry, or a dead
            # worker's job whose lease has not run out. Their markets are busy,
            # so the planner skips them; stopping now would leave them unsynced.
            await asyncio.sleep(min(max(wait, 0.05), PENDING_WAIT_MAX_SECONDS))
    return total


async def seconds_until_pending_work(worker: VenueWorker) -> float | None:
    """Seconds until the venue's earliest queued retry or expiring lease; None when none."""
    row = await worker.pool.fetchrow(
        _Q.next_due,
        worker.name,
    )
    if row is None or row["due"] is None:
        return None
    return float((row["due"] - worker.clock()).total_seconds())


async def run_worker(
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    venues: Sequence[str] | None = None,
    once: bool = False,
    stop: asyncio.Event | None = None,
    clock: Clock = utc_now,
    build: BuildVenue = build_venue,
    streams: bool = True,
    database_url: str | None = None,
) -> list[CycleReport]:
    """Run the engine for `venues` (default: the enabled ones) until `stop`, or one cycle.

    With `once`, every venue catches up (`catch_up`) and the reports are
    returned; otherwise the cycles repeat until `stop` is set. Given
    `database_url` (and `STREAM_THREAD` on), the streams run on their own
    thread with a pool of their own; otherwise on this loop beside the jobs.
    """
    stop = stop or asyncio.Event()
    owner = worker_id()
    names = list(venues) if venues else settings.venues
    adapters: list[Venue] = []
    workers: list[VenueWorker] = []
    consumers: list[StreamConsumer] = []
    threaded = streams and not once and database_url is not None and settings.stream_thread
    streamed: list[str] = []
    for name in names:
        try:
            adapter = build(name, settings)
        except (KeyError, ValueError, VenueError) as exc:
            log.warning("worker.venue_unavailable", venue=name, error=str(exc))
            continue
        adapters.append(adapter)
        ingestor = Ingestor(pool, adapter, settings)
        workers.append(VenueWorker(pool, adapter, ingestor, settings, owner=owner, clock=clock))
        if threaded and adapter.can_stream():
            streamed.append(name)
        elif streams and adapter.can_stream():
            consumers.append(StreamConsumer(pool, adapter, ingestor, settings))
    log.info("worker.start", owner=owner, venues=[w.name for w in workers], once=once)
    thread = (
        StreamThread(settings, database_url, streamed, build)
        if streamed and database_url is not None
        else None
    )
    try:
        if once:
            reports = list(await asyncio.gather(*(catch_up(w) for w in workers)))
            await upkeep_once(pool, settings, owner, clock)
            try:
                await backups.run_due(pool, settings, now=clock())
            except backups.BACKUP_ERRORS as exc:  # recorded in ops.backups; the alert tells
                log.warning("worker.backup_failed", error=str(exc))
            return reports
        if thread is not None:
            thread.start()
        tasks = [asyncio.create_task(w.run(stop), name=f"predhub-worker-{w.name}") for w in workers]
        tasks += [
            asyncio.create_task(c.run(stop), name=f"predhub-stream-{c.name}") for c in consumers
        ]
        tasks.append(
            asyncio.create_task(
                run_upkeep(pool, settings, owner, clock, stop), name="predhub-upkeep"
            )
        )
        tasks.append(
            asyncio.create_task(
                backups.run_backups(pool, settings, clock, stop), name="predhub-backups"
            )
        )
        tasks.append(
            asyncio.create_task(run_exporter(pool, settings, stop), name="predhub-metrics")
        )
        await stop.wait()
        if thread is not None:  # the streams stop beside the jobs' grace period
            tasks.append(asyncio.create_task(thread.stopped(), name="predhub-streams-stop"))
        # Let running jobs finish (their leases would otherwise have to expire).
        _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS) if tasks else ((), ())
        await asyncio.gather(*(cancel_and_wait(task) for task in pending))
        return []
    finally:
        if thread is not None:
            await thread.stopped()  # joined, whatever ended the run
        for adapter in adapters:
            with contextlib.suppress(VenueError, OSError, RuntimeError):
                await adapter.close()
        log.info("worker.stop", owner=owner)
