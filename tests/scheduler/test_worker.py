"""The engine against the simulator over real HTTP and real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from predhub.ingest.pipeline import Ingestor
from predhub.scheduler import jobs
from predhub.scheduler.worker import CycleReport, VenueWorker
from predhub.settings import Settings
from predhub.sim.config import FaultRule
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues import budget
from predhub.venues.base import Venue
from predhub.venues.registry import build_venue

from .simtools import FakeClock, assert_trades_match_truth, tiny_world

FAST = {
    "http_max_retries": 0,
    "http_backoff_base_seconds": 0.01,
    "breaker_failure_threshold": 2,
    "breaker_reset_seconds": 1.0,
    "scheduler_cycle_seconds": 5.0,
    "rate_limit_scale": 20.0,  # the simulator does not limit; tests need not wait for tokens
}


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(tiny_world()) as handle:
        yield handle


@pytest.fixture
async def venues() -> AsyncIterator[list[Venue]]:
    made: list[Venue] = []
    yield made
    for v in made:
        await v.close()


def factory(
    pool: asyncpg.Pool, settings: Settings, clock: FakeClock, made: list[Venue]
) -> Callable[..., VenueWorker]:
    def make(name: str, owner: str = "w1") -> VenueWorker:
        venue = build_venue(name, settings)
        made.append(venue)
        ingestor = Ingestor(pool, venue, settings)
        return VenueWorker(pool, venue, ingestor, settings, owner=owner, clock=clock, restamp=True)

    return make


async def settle(worker: VenueWorker, clock: FakeClock, *, rounds: int = 10) -> None:
    """Run cycles until one finds nothing to do (the budget may spread work over several)."""
    for _ in range(rounds):
        clock.advance(worker.settings.scheduler_cycle_seconds)
        report = await worker.cycle(drain=True)
        if not report.enqueued and not report.jobs_done:
            return
    raise AssertionError(f"{worker.name} still had work after {rounds} cycles")


async def test_a_cycle_fills_an_empty_database_then_syncs_every_trade(
    pool: asyncpg.Pool, sim: SimHandle, venues: list[Venue]
) -> None:
    settings = sim.settings(**FAST)
    clock = FakeClock()
    worker = factory(pool, settings, clock, venues)("kalshi")
    first = await worker.cycle(drain=True)
    assert first.jobs_done == 1 and first.jobs_failed == 0  # the initial static load
    loads = await pool.fetch("SELECT kind, status FROM ops.jobs")
    assert [tuple(r) for r in loads] == [("static_load", "done")]
    assert await pool.fetchval("SELECT count(*) FROM silver.markets WHERE venue = 'kalshi'") > 20

    clock.advance(2)
    second = await worker.cycle(drain=True)
    assert second.planned and second.jobs_failed == 0
    assert second.kinds.get("trades", 0) > 0
    assert await assert_trades_match_truth(pool, sim, "kalshi") > 50
    # the cycle stayed inside the venue's budget
    used = await budget.used_this_minute(pool, "kalshi", clock())
    assert 0 < used <= budget.budget_per_minute("kalshi", settings)
    # the new markets' past prices are backfilled, a job at a time, once each
    for _ in range(20):
        clock.advance(2)
        await worker.cycle(drain=True)
        if not await pool.fetchval(
            "SELECT count(*) FROM silver.market_sync"
            " WHERE venue = 'kalshi' AND history_synced_at IS NULL"
        ):
            break
    backfills = await pool.fetch("SELECT market_ids FROM ops.jobs WHERE kind = 'backfill'")
    ids = [i for r in backfills for i in r["market_ids"]]
    assert ids and len(ids) == len(set(ids))
    # nothing is due any more: a further cycle plans nothing
    clock.advance(2)
    third = await worker.cycle(drain=True)
    assert third.enqueued == 0 and third.jobs_done == 0


async def test_two_workers_never_take_the_same_market_twice_in_a_cycle(
    pool: asyncpg.Pool, sim: SimHandle, venues: list[Venue]
) -> None:
    settings = sim.settings(**FAST)
    clock = FakeClock()
    make = factory(pool, settings, clock, venues)
    a, b = make("polymarket", "worker-a"), make("polymarket", "worker-b")
    await a.cycle(drain=True)  # static load
    for _ in range(3):
        clock.advance(400)
        sim.advance(400)
        reports = await asyncio.gather(a.cycle(drain=True), b.cycle(drain=True))
        assert sum(r.planned for r in reports) >= 1
        assert all(r.jobs_failed == 0 for r in reports)

    rows = await pool.fetch(
        "SELECT kind, cycle, market_ids, lease_owner, status FROM ops.jobs"
        " WHERE venue = 'polymarket' AND cycle IS NOT NULL"
    )
    assert rows and all(r["status"] == "done" for r in rows)
    per_cycle: dict[tuple[str, int], Counter[int]] = {}
    for r in rows:
        per_cycle.setdefault((r["kind"], r["cycle"]), Counter()).update(r["market_ids"])
    twice = {key: [m for m, n in c.items() if n > 1] for key, c in per_cycle.items()}
    assert not any(twice.values()), twice
    owners = Counter(r["lease_owner"] for r in rows)
    assert set(owners) == {"worker-a", "worker-b"}, owners  # both did share the work
    clock.advance(6 * 3600)  # every market's trades fall due: one last sync of them all
    await settle(a, clock)
    await assert_trades_match_truth(pool, sim, "polymarket")


async def test_an_outage_opens_one_venues_breaker_while_the_others_carry_on(
    pool: asyncpg.Pool, sim: SimHandle, venues: list[Venue]
) -> None:
    settings = sim.settings(**FAST)
    clock = FakeClock()
    make = factory(pool, settings, clock, venues)
    kalshi, poly = make("kalshi"), make("polymarket")
    await asyncio.gather(kalshi.cycle(drain=True), poly.cycle(drain=True))

    last_job = await pool.fetchval("SELECT coalesce(max(id), 0) FROM ops.jobs")
    last_load = await pool.fetchval("SELECT coalesce(max(id), 0) FROM ops.loads")
    sim.set_faults(FaultRule(venue="kalshi", kind="error", status=503))
    sim.advance(900)
    clock.advance(900)
    k_report, p_report = await asyncio.gather(kalshi.cycle(drain=True), poly.cycle(drain=True))
    breaker = kalshi.venue.http.breaker  # type: ignore[attr-defined]
    assert breaker.opened_count >= 1
    assert k_report.jobs_failed > 0 or k_report.breaker_open
    # Every kalshi request failed, so the only job that may finish is one that
    # needed no request at all (a resolution sweep with nothing to re-read).
    done = await pool.fetch(
        "SELECT kind FROM ops.jobs WHERE venue = 'kalshi' AND status = 'done' AND id > $1",
        last_job,
    )
    assert {r["kind"] for r in done} <= {"resolution_sweep"}
    assert len(done) <= k_report.jobs_done
    sweeps = await pool.fetch(
        "SELECT stats FROM ops.loads WHERE venue = 'kalshi' AND kind = 'sweep' AND id > $1",
        last_load,
    )
    assert len(sweeps) >= len(done)
    assert all(_stats(r["stats"]).get("requests", 0) == 0 for r in sweeps[: len(done)])
    assert kalshi.failed_cycles == 1
    assert kalshi.pause_after(clock()) > settings.scheduler_cycle_seconds  # backing off
    assert p_report.jobs_done > 0 and p_report.jobs_failed == 0
    assert poly.failed_cycles == 0
    await settle(poly, clock)  # polymarket catches up fully while kalshi is down
    await assert_trades_match_truth(pool, sim, "polymarket")
    errors = await pool.fetchval("SELECT sum(errors) FROM ops.venue_usage WHERE venue = 'kalshi'")
    assert errors > 0

    # recovery: the venue answers again, the breaker half-opens, the backlog drains
    sim.clear_faults()
    await asyncio.sleep(settings.breaker_reset_seconds + 0.1)
    for _ in range(6):
        clock.advance(400)  # past every retry's backoff
        report = await kalshi.cycle(drain=True)
        if report.jobs_done and not report.jobs_failed:
            break
    assert kalshi.failed_cycles == 0
    await assert_trades_match_truth(pool, sim, "kalshi")
    stuck = await pool.fetchval(
        "SELECT count(*) FROM ops.jobs WHERE venue = 'kalshi' AND status <> 'done'"
    )
    assert stuck == 0


def _stats(value: object) -> dict[str, object]:
    """A load's recorded stats (jsonb arrives as text or as a decoded mapping)."""
    import json

    return json.loads(value) if isinstance(value, str) else dict(value)  # type: ignore[call-overload]


async def test_a_job_the_paced_share_refuses_runs_later_in_the_same_minute(
    pool: asyncpg.Pool, sim: SimHandle, venues: list[Venue]
) -> None:
    """A large job refused at a minute's start (the paced share is smallest there)
    runs once the share covers it, not at the next minute's start, refused again."""
    settings = sim.settings(**{**FAST, "rate_limit_scale": 1.0})
    clock = FakeClock(datetime(2026, 1, 5, 12, 0, 0, 100_000, tzinfo=UTC))
    worker = factory(pool, settings, clock, venues)("kalshi")
    cost = worker.reserve_cap // 2
    assert worker.paced_cap(clock()) < cost <= worker.reserve_cap
    await jobs.enqueue(
        pool,
        [jobs.NewJob(venue="kalshi", kind="static_load", dedupe_key="big", cost=cost)],
        now=clock(),
    )
    minute = clock().replace(second=0, microsecond=0)
    refusals = 0
    while clock() < minute + timedelta(minutes=1):
        report = CycleReport("kalshi", 0)
        deadline = clock() + timedelta(seconds=settings.scheduler_cycle_seconds)
        await worker.run_jobs(report, deadline=deadline)
        refusals += report.deferred
        if report.jobs_done:
            break
        clock.advance(settings.scheduler_cycle_seconds)
    status = await pool.fetchval("SELECT status FROM ops.jobs WHERE dedupe_key = 'big'")
    assert refusals >= 1, "the job was never refused: the test did not exercise pacing"
    assert status == "done", f"the job is {status} at {clock()}, after {refusals} refusals"
    assert clock() < minute + timedelta(minutes=1)
