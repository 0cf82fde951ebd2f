"""The worker loop of one venue: schedule, plan, claim, run, repeat.

Each cycle a `VenueWorker`

1. claims this slot's periodic loads (static on an empty database, deltas and
   the resolution sweep hourly) in `ops.sync_state`;
2. if it wins the venue's planning lock (a transaction-scoped advisory lock,
   so exactly one worker plans a venue at a time): recomputes priorities in
   one statement, reads market states, runs the pure planner against the
   cycle's budget and enqueues the requests as jobs, leaving out markets
   already in a live job of the same kind;
3. claims jobs with leases (`FOR UPDATE SKIP LOCKED`), reserves each job's
   requests in the venue's shared per-minute budget before running it, runs
   up to `worker_concurrency` at once through ingestion, keeps their leases
   alive, and finishes them (done, or requeued with backoff).

While the venue's circuit breaker is open no job is started; failing cycles
back the venue off exponentially. Each venue has its own loop, so one venue's
outage never slows the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from predhub.db.errors import DATABASE_FAILURES
from predhub.db.queries import load
from predhub.errors import PredhubError
from predhub.gold import history
from predhub.ingest.retention import Pruned, prune_history
from predhub.ingest.summary import LoadSummary
from predhub.models import SyncPriority
from predhub.scheduler import budget, jobs, periodic, retention
from predhub.scheduler.cadence import (
    KIND_VALUE,
    PRIORITY_ORDER,
    PRIORITY_VALUE,
    Cadences,
    DataKind,
)
from predhub.scheduler.planner import (
    NEVER_SYNCED_RATIO,
    PlannedRequest,
    choose,
    overdue_ratio,
)
from predhub.scheduler.priority import recompute_priorities
from predhub.scheduler.runner import KIND_PRIORITY, IngestorLike, JobKind, run_job
from predhub.settings import Settings
from predhub.venues.base import Capability, Venue
from predhub.venues.budget import Allowance, VenueBudget, drawing, minute_of, used_this_minute

_Q = load("scheduler_worker")

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 300.0
# A venue that fails is backed off for minutes, sparing its rate limits; the
# database costs nothing to ask again, and every second of waiting after it
# returns is a second of ingestion lost, so its retries stay this close together.
DATABASE_RETRY_MAX_SECONDS = 2.0
PRUNE_INTERVAL_SECONDS = 3600  # raw history past BRONZE_RETENTION_DAYS goes hourly
ALL_VENUES = "*"  # the schedule row of work done for every venue at once
LOAD_COST = 10  # requests reserved for a catalogue load; the rest is booked afterwards

KIND_CAPABILITY: dict[DataKind, frozenset[Capability]] = {
    DataKind.QUOTES: frozenset({Capability.BATCH_QUOTES, Capability.LIST_MARKETS}),
    DataKind.TRADES: frozenset({Capability.TRADES}),
    DataKind.BOOKS: frozenset({Capability.ORDER_BOOKS, Capability.BATCH_ORDER_BOOKS}),
    DataKind.METADATA: frozenset({Capability.MARKETS_BY_ID}),
}
_KIND_RANK = {k: len(DataKind) - i for i, k in enumerate(DataKind)}
_DATA_KINDS = frozenset(k.value for k in DataKind)
_PRIORITY_RANK = {p: len(PRIORITY_ORDER) - i for i, p in enumerate(PRIORITY_ORDER)}

# What a lost, restarting or full database raises.
DATABASE_ERRORS = DATABASE_FAILURES
# What a job may fail of without a bug: its own errors, or the database's.
JOB_FAILURES: tuple[type[Exception], ...] = (PredhubError, *DATABASE_ERRORS)


def utc_now() -> datetime:
    return datetime.now(UTC)


def worker_id() -> str:
    """host:pid:random, unique per process, readable in `ops.jobs.lease_owner`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def plan_lock_key(venue: str) -> str:
    return f"predhub.plan:{venue}"


def data_kinds(venue: Venue) -> list[DataKind]:
    """The data kinds this venue can serve (quotes from a batch call or per market)."""
    kinds = [k for k in DataKind if KIND_CAPABILITY[k] & venue.has]
    if DataKind.QUOTES not in kinds and type(venue).quotes is not Venue.quotes:
        kinds.insert(0, DataKind.QUOTES)
    return kinds


@dataclass
class CycleReport:
    """What one cycle of one venue did (logged as `worker.cycle`)."""

    venue: str
    cycle: int
    planned: bool = False
    priorities_changed: int = 0
    enqueued: int = 0
    jobs_done: int = 0
    jobs_failed: int = 0
    requests: int = 0
    deferred: int = 0  # jobs put back for lack of budget
    breaker_open: bool = False
    kinds: dict[str, int] = field(default_factory=dict)


class VenueWorker:
    """One venue's share of a worker process."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        venue: Venue,
        ingestor: IngestorLike,
        settings: Settings,
        *,
        owner: str | None = None,
        clock: Clock = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        restamp: bool = False,
    ) -> None:
        self.pool = pool
        self.venue = venue
        self.name = venue.name
        self.ingestor = ingestor
        self.settings = settings
        self.owner = owner or worker_id()
        self.clock = clock
        self.sleep = sleep  # how a job waits for the next minute's budget (on `clock`)
        # With a simulated clock, ingestion's wall-clock stamps would be in
        # another time line; the engine then stamps the markets it synced itself.
        self.restamp = restamp
        self.cadences = Cadences.from_settings(settings)
        self.budget = VenueBudget.for_workers(pool, self.name, settings, clock=clock, sleep=sleep)
        self.cap = self.budget.cap
        # Trade syncs page on, so a job may take more requests than reserved;
        # reservations stop short of the cap to leave room for that overshoot.
        self.reserve_cap = max(1, math.floor(self.cap * (1 - budget.OVERSHOOT_HEADROOM)))
        profile = budget.profile_for(self.name, settings)
        # a job must fit in one cycle's budget, or it would never be planned
        profile = replace(profile, job_requests=min(profile.job_requests, self.cycle_budget()))
        self.profile = profile
        self.kinds = data_kinds(venue)
        self.failed_cycles = 0
        self.database_failures = 0  # cycles in a row the database failed

    # ------------------------------------------------------------------ helpers
    def cycle_number(self, now: datetime) -> int:
        return math.floor(now.timestamp() / self.settings.scheduler_cycle_seconds)

    def breaker_open(self) -> bool:
        http = getattr(self.venue, "http", None)
        breaker = getattr(http, "breaker", None)
        state = getattr(breaker, "state", None)
        return state is not None and str(state) == "open"

    def paced_cap(self, now: datetime) -> int:
        """The share of this minute's budget usable by the end of the current cycle.

        Spreading the minute's budget over its cycles keeps room for the work
        that falls due late in the minute (high-priority quotes above all)
        instead of spending everything in the first seconds.
        """
        into = now.second + now.microsecond / 1e6 + self.settings.scheduler_cycle_seconds
        return max(1, math.ceil(self.reserve_cap * min(1.0, into / 60.0)))

    def deferred_until(self, cost: int, now: datetime, *, paced: bool) -> datetime:
        """When a job the budget refused at `now` may be tried again.

        The paced share grows through the minute, so a job it alone refused is
        tried again later in the same minute, from the moment the share first
        covers the job's cost (and one cycle on at the soonest). Only a job the
        whole minute cannot pay waits for the next minute. Sending every refused
        job to the next minute's start, where the paced share is smallest, would
        refuse a large job (a history backfill) at every minute's start for
        ever; and as queued work counts against what the planner may add, the
        venue would starve.
        """
        next_minute = minute_of(now) + timedelta(minutes=1)
        if not paced or cost > self.reserve_cap:
            return next_minute
        cycle = self.settings.scheduler_cycle_seconds
        # paced_cap(t) covers `cost` once seconds-into-the-minute + cycle >= 60 * cost / cap
        covered = max(0.0, 60.0 * cost / self.reserve_cap - cycle)
        soonest = max(now + timedelta(seconds=cycle), minute_of(now) + timedelta(seconds=covered))
        return min(soonest, next_minute)

    def cycle_budget(self) -> int:
        """Requests the planner may queue per cycle (two cycles' worth keeps workers busy)."""
        per_cycle = self.cap * self.settings.scheduler_cycle_seconds / 60.0
        return max(2, math.ceil(2 * per_cycle))

    # ------------------------------------------------------------------ scheduling
    async def schedule_loads(self, now: datetime) -> int:
        """Enqueue the periodic loads whose slot has come; returns jobs enqueued."""
        new: list[jobs.NewJob] = []
        held = await self.pool.fetchval(_Q.count_markets, self.name)
        if not held:  # an empty database fills with a static load, now
            new.append(self._load_job(JobKind.STATIC_LOAD, "initial"))
        for kind, slot in periodic.due_slots(now, self.settings).items():
            first = await periodic.claim_slot(self.pool, self.name, kind, slot, now)
            if first is None or not held:
                continue  # claimed already, or the initial static load covers it
            if first and kind == JobKind.STATIC_LOAD:
                continue  # first run on a filled database: wait for the next slot
            new.append(self._load_job(JobKind(kind), str(slot)))
        await self.prune_history(now)
        new += await self._backfill_jobs()
        return await jobs.enqueue(self.pool, new, now=now)

    async def prune_history(self, now: datetime) -> Pruned | None:
        """Once an hour, whichever worker claims the slot first deletes raw history
        older than BRONZE_RETENTION_DAYS (of every venue); None when not this worker's turn."""
        slot = periodic.interval_slot(now, PRUNE_INTERVAL_SECONDS)
        if await periodic.claim_slot(self.pool, ALL_VENUES, "prune", slot, now) is None:
            return None
        pruned = await prune_history(
            self.pool, before=now - timedelta(days=self.settings.bronze_retention_days)
        )
        log.info("pruned raw history", **vars(pruned))
        await retention.record(
            self.pool,
            {"raw_history": pruned.sightings + pruned.responses + pruned.books},
            now=now,
        )
        return pruned

    async def _backfill_jobs(self) -> list[jobs.NewJob]:
        """A job for the next new markets' past prices, when the venue serves history.

        A market is in one backfill job ever (until it is stamped, or its job failed
        for good and was pruned); the job is paid from the venue budget like any other.
        """
        if Capability.PRICE_HISTORY not in self.venue.has:
            return []
        ids = await history.backfill_candidates(
            self.pool, self.name, self.settings.history_backfill_markets
        )
        if not ids:
            return []
        return [
            jobs.NewJob(
                venue=self.name,
                kind=JobKind.BACKFILL.value,
                dedupe_key=f"{self.name}:{JobKind.BACKFILL.value}:{ids[0]}",
                market_ids=tuple(ids),
                priority=KIND_PRIORITY[JobKind.BACKFILL],
                cost=len(ids),
            )
        ]

    def _load_job(self, kind: JobKind, slot: str) -> jobs.NewJob:
        return jobs.NewJob(
            venue=self.name,
            kind=kind.value,
            dedupe_key=f"{self.name}:{kind.value}",
            priority=KIND_PRIORITY.get(kind, 0),
            cost=LOAD_COST,
            payload={"slot": slot},
        )

    async def plan_cycle(self, now: datetime, *, drain: bool = False) -> CycleReport:
        """Recompute priorities and queue this cycle's requests, if this worker holds the lock.

        With `drain` (catching up), the cycle may plan whatever is left of this
        minute's budget rather than one cycle's share of it.
        """
        report = CycleReport(self.name, self.cycle_number(now))
        async with self.pool.acquire() as conn, conn.transaction():
            got = await conn.fetchval(_Q.try_plan_lock, plan_lock_key(self.name))
            if not got:
                return report
            report.planned = True
            report.priorities_changed = await recompute_priorities(
                conn, self.name, self.settings, now
            )
            # Planned jobs nobody has started are re-planned from fresh scores.
            await jobs.drop_unstarted(conn, self.name)
            busy_raw = await jobs.busy_markets(conn, self.name)
            busy = {DataKind(k): ids for k, ids in busy_raw.items() if k in _DATA_KINDS}
            room = self.cycle_budget()
            if drain:
                used = await used_this_minute(conn, self.name, now)
                room = max(room, self.reserve_cap - used)
            room = max(0, room - await jobs.queued_cost(conn, self.name))
            lead = self.settings.scheduler_cycle_seconds
            planned = choose(
                await self._due_jobs(conn, now, lead, room, busy),
                room,
            )
            report.enqueued = await jobs.enqueue(
                conn, self._plan_jobs(planned, report.cycle), now=now
            )
            for request in planned:
                report.kinds[request.kind.value] = report.kinds.get(request.kind.value, 0) + 1
        return report

    async def _due_jobs(
        self,
        conn: asyncpg.Connection,
        now: datetime,
        lead: float,
        room: int,
        busy: dict[DataKind, set[int]],
    ) -> list[PlannedRequest]:
        """The candidate jobs of this cycle, as `plan_due` would cut them from the due pairs.

        The (market, kind) pairs due by the next cycle (`lead` seconds on), the most
        valuable first, as many as `room` requests could take (one more job per group for
        a partial last chunk) plus the busy ones left out, from each (priority, kind) group
        at most what the room could take of that group; the database reads, ranks and
        chunks them, so the worker receives jobs (a few hundred rows), not pairs (thousands).
        """
        groups = [
            (priority, kind, cadence)
            for priority in PRIORITY_ORDER
            for kind in self.kinds
            if (cadence := self.cadences.get(priority, kind)) is not None
        ]
        if not groups or room <= 0:
            return []
        biggest = max(self.profile.job_size(k) for _, k, _ in groups)
        busy_count = sum(len(ids) for ids in busy.values())
        limit = (room + len(groups)) * biggest + busy_count
        # A group's full jobs all cost the same, so at most room // cost of them fit; one
        # more job's worth (and the busy markets the planner skips) is all it can offer.
        takes = [
            min(
                limit,
                (room // self.profile.job_cost(k, self.profile.job_size(k)) + 1)
                * self.profile.job_size(k)
                + busy_count,
            )
            for _, k, _ in groups
        ]
        busy_pairs = [(k.value, i) for k, ids in busy.items() for i in ids]
        rows = await conn.fetch(
            _Q.due_jobs,
            self.name,
            [p.value for p, _, _ in groups],
            [k.value for _, k, _ in groups],
            [c for _, _, c in groups],
            [PRIORITY_VALUE[p] * KIND_VALUE[k] for p, k, _ in groups],
            now + timedelta(seconds=lead),
            NEVER_SYNCED_RATIO,
            limit,
            takes,
            [self.profile.job_size(k) for _, k, _ in groups],
            [k for k, _ in busy_pairs],
            [i for _, i in busy_pairs],
        )
        cadence_of = {(p, k): c for p, k, c in groups}
        out = []
        for r in rows:
            priority, kind = SyncPriority(r["sync_priority"]), DataKind(r["kind"])
            ratio = overdue_ratio(r["synced"], now, cadence_of[priority, kind], lead_seconds=lead)
            market_ids = tuple(r["market_ids"])
            out.append(
                PlannedRequest(
                    kind=kind,
                    priority=priority,
                    market_ids=market_ids,
                    cost=self.profile.job_cost(kind, len(market_ids)),
                    score=ratio * PRIORITY_VALUE[priority] * KIND_VALUE[kind],
                )
            )
        return out

    def _plan_jobs(self, planned: Sequence[PlannedRequest], cycle: int) -> list[jobs.NewJob]:
        return [
            jobs.NewJob(
                venue=self.name,
                kind=request.kind.value,
                dedupe_key=f"{self.name}:{request.kind.value}:{cycle}:{n}",
                market_ids=request.market_ids,
                priority=_PRIORITY_RANK[request.priority] * 10 + _KIND_RANK[request.kind],
                cost=request.cost,
                cycle=cycle,
            )
            for n, request in enumerate(planned)
        ]

    # ------------------------------------------------------------------ running jobs
    async def run_jobs(self, report: CycleReport, *, deadline: datetime | None) -> None:
        """Claim and run jobs until none is runnable, the budget is spent or `deadline`."""
        running: set[asyncio.Task[None]] = set()
        limit = self.settings.worker_concurrency
        try:
            while True:
                if self.breaker_open():
                    report.breaker_open = True
                    break
                now = self.clock()
                if deadline is not None and now >= deadline:
                    break
                cap = self.reserve_cap if deadline is None else self.paced_cap(now)
                free = limit - len(running)
                claimed: list[jobs.Job] = []
                if free > 0:
                    claimed = await jobs.claim(
                        self.pool,
                        self.name,
                        self.owner,
                        now=now,
                        lease_seconds=self.settings.worker_lease_seconds,
                        limit=free,
                    )
                out_of_budget = False
                for job in claimed:
                    if out_of_budget or not await self.budget.reserve(job.cost, cap=cap, now=now):
                        out_of_budget = True
                        retry_at = self.deferred_until(job.cost, now, paced=deadline is not None)
                        await jobs.release(self.pool, job, self.owner, run_after=retry_at)
                        report.deferred += 1
                        continue
                    task = asyncio.create_task(self._run_one(job, report))
                    running.add(task)
                    task.add_done_callback(running.discard)
                if not running:
                    break
                await asyncio.wait(set(running), return_when=asyncio.FIRST_COMPLETED)
                if out_of_budget:
                    await asyncio.gather(*running)
                    break
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _keep_lease(self, job: jobs.Job) -> None:
        period = max(0.5, self.settings.worker_lease_seconds / 3)
        while True:
            await asyncio.sleep(period)
            # A failed extension (the database restarting, its disk full) is tried
            # again next period; should the lease run out meanwhile, another worker
            # retakes the job, which is safe: its pages commit with their watermark.
            try:
                await jobs.extend_lease(
                    self.pool,
                    job,
                    self.owner,
                    now=self.clock(),
                    lease_seconds=self.settings.worker_lease_seconds,
                )
            except DATABASE_ERRORS as exc:
                log.warning(
                    "worker.lease_extend_failed", venue=self.name, job=job.id, error=str(exc)
                )

    async def _run_one(self, job: jobs.Job, report: CycleReport) -> None:
        keeper = asyncio.create_task(self._keep_lease(job))
        error: str | None = None
        summary = LoadSummary()
        allowance = self.budget.allowance(reserved=job.cost)
        try:
            with drawing(allowance):
                summary = await run_job(self.ingestor, job.kind, job.market_ids)
            summary.raise_failures()
        # The job boundary: whatever one job raises is recorded against that
        # job and retried with backoff; the worker itself carries on. A bug is
        # logged with its traceback as well.
        except JOB_FAILURES as exc:
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("worker.job_bug", venue=self.name, job=job.id, kind=job.kind, exc_info=exc)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        try:
            await self._record(job, report, summary, error, allowance)
        except DATABASE_ERRORS as exc:
            # The job ran but its outcome could not be written: its lease runs out
            # and it is taken again, so nothing is lost; one line says why.
            report.jobs_failed += 1
            log.warning(
                "worker.job_unrecorded", venue=self.name, job=job.id, kind=job.kind, error=str(exc)
            )

    async def _record(
        self,
        job: jobs.Job,
        report: CycleReport,
        summary: LoadSummary,
        error: str | None,
        allowance: Allowance,
    ) -> None:
        """Book the job's budget and finish it: done, or failed and requeued with backoff."""
        now = self.clock()
        # Every request was reserved before it left (the allowance): give back
        # what was reserved and not used, then book errors and retries.
        await allowance.release()
        await self.budget.book(
            now=now,
            errors=summary.failures + (1 if error and not summary.failures else 0),
            retries=summary.retries,
        )
        report.requests += summary.requests
        if error is None:
            if self.restamp and job.kind in _DATA_KINDS:
                await self._stamp(DataKind(job.kind), job.market_ids, now)
            await jobs.complete(self.pool, job, self.owner, now=now)
            report.jobs_done += 1
            log.info(
                "worker.job_done",
                venue=self.name,
                job=job.id,
                kind=job.kind,
                markets=len(job.market_ids),
                requests=summary.requests,
                written=summary.written,
            )
            return
        retry_in = min(MAX_BACKOFF_SECONDS, RETRY_BASE_SECONDS * 2.0 ** max(0, job.attempts - 1))
        status = await jobs.fail(
            self.pool,
            job,
            self.owner,
            now=now,
            error=error,
            retry_in=retry_in,
            max_attempts=MAX_ATTEMPTS,
        )
        report.jobs_failed += 1
        log.warning(
            "worker.job_failed",
            venue=self.name,
            job=job.id,
            kind=job.kind,
            attempt=job.attempts,
            status=status,
            retry_in=retry_in,
            error=error,
        )

    async def _stamp(self, kind: DataKind, market_ids: Sequence[int], now: datetime) -> None:
        await self.pool.execute(
            _Q.stamp_synced.format(column=kind.synced_column),
            list(market_ids),
            now,
        )

    # ------------------------------------------------------------------ the loop
    async def cycle(self, *, drain: bool = False) -> CycleReport:
        """One cycle; `drain` runs jobs until none is runnable instead of until the cycle ends."""
        now = self.clock()
        await self.schedule_loads(now)
        # Database work only: whichever worker is first once the cadence has passed.
        await history.rollup(self.pool, self.settings, now=now, owner=self.owner)
        report = await self.plan_cycle(now, drain=drain)
        deadline = None if drain else now + timedelta(seconds=self.settings.scheduler_cycle_seconds)
        await self.run_jobs(report, deadline=deadline)
        if (report.jobs_failed and not report.jobs_done) or report.breaker_open:
            self.failed_cycles += 1
        else:
            self.failed_cycles = 0
        log.info(
            "worker.cycle",
            venue=report.venue,
            cycle=report.cycle,
            planned=report.planned,
            enqueued=report.enqueued,
            done=report.jobs_done,
            failed=report.jobs_failed,
            deferred=report.deferred,
            requests=report.requests,
            breaker_open=report.breaker_open,
            priorities_changed=report.priorities_changed,
        )
        return report

    def pause_after(self, started: datetime) -> float:
        """Seconds to wait before the next cycle: the rest of the cycle, more when failing."""
        cycle = self.settings.scheduler_cycle_seconds
        elapsed = (self.clock() - started).total_seconds()
        if self.database_failures:
            retry = cycle * 2.0 ** min(self.database_failures - 1, 10)
            return min(DATABASE_RETRY_MAX_SECONDS, retry)
        if self.failed_cycles:
            backoff = min(MAX_BACKOFF_SECONDS, cycle * 2.0 ** min(self.failed_cycles, 10))
            log.info("worker.backoff", venue=self.name, seconds=backoff, failed=self.failed_cycles)
            return backoff
        return max(0.0, cycle - elapsed)

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle until `stop` is set; database trouble is logged and retried."""
        while not stop.is_set():
            started = self.clock()
            try:
                await self.cycle()
                self.database_failures = 0
            except DATABASE_ERRORS as exc:
                self.database_failures += 1
                log.warning("worker.cycle_failed", venue=self.name, error=str(exc))
            pause = self.pause_after(started)
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
