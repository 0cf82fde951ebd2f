"""The planner on plain data: budget, batching, degradation by priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from predhub.models import SyncPriority
from predhub.scheduler.budget import VenueProfile
from predhub.scheduler.cadence import Cadences, DataKind
from predhub.scheduler.planner import MarketState, overdue_ratio, plan
from predhub.settings import Settings

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CAD = Cadences.from_settings(Settings())
QUOTES_ONLY = (DataKind.QUOTES,)


def states(priority: SyncPriority, ids: range, age_seconds: float | None) -> list[MarketState]:
    last = None if age_seconds is None else NOW - timedelta(seconds=age_seconds)
    return [MarketState(i, priority, {DataKind.QUOTES: last}) for i in ids]


def test_cadences_follow_the_seed_defaults() -> None:
    assert CAD.get(SyncPriority.HIGH, DataKind.QUOTES) == 60
    assert CAD.get(SyncPriority.NORMAL, DataKind.QUOTES) == 15 * 60
    assert CAD.get(SyncPriority.NORMAL, DataKind.TRADES) == 3600
    assert CAD.get(SyncPriority.NORMAL, DataKind.METADATA) == 86400
    assert CAD.get(SyncPriority.ARCHIVED, DataKind.QUOTES) is None


def test_fresh_markets_are_not_planned() -> None:
    markets = states(SyncPriority.HIGH, range(10), 10) + states(
        SyncPriority.NORMAL, range(10, 20), 600
    )
    assert (
        plan(
            markets,
            now=NOW,
            cadences=CAD,
            profile=VenueProfile("v", 1),
            budget=100,
            kinds=QUOTES_ONLY,
        )
        == []
    )


def test_due_markets_are_batched_by_the_venue_batch_size() -> None:
    profile = VenueProfile("v", 1, batch={DataKind.QUOTES: 100})
    markets = states(SyncPriority.NORMAL, range(250), 1000)
    out = plan(markets, now=NOW, cadences=CAD, profile=profile, budget=100, kinds=QUOTES_ONLY)
    assert [len(r.market_ids) for r in out] == [100, 100, 50]
    assert sorted(i for r in out for i in r.market_ids) == list(range(250))


def test_budget_is_never_exceeded_and_degrades_by_priority() -> None:
    profile = VenueProfile("v", 1, batch={DataKind.QUOTES: 10})
    markets = (
        states(SyncPriority.LOW, range(0, 100), 10 * 3600)  # very stale low
        + states(SyncPriority.NORMAL, range(100, 200), 2000)
        + states(SyncPriority.HIGH, range(200, 250), 90)
    )
    out = plan(markets, now=NOW, cadences=CAD, profile=profile, budget=8, kinds=QUOTES_ONLY)
    assert sum(r.cost for r in out) <= 8
    planned = [r.priority for r in out]
    # every high market first (5 requests), then normal; nothing low.
    assert planned[:5] == [SyncPriority.HIGH] * 5
    assert set(planned[5:]) == {SyncPriority.NORMAL}
    assert SyncPriority.LOW not in planned
    high_ids = {i for r in out if r.priority == SyncPriority.HIGH for i in r.market_ids}
    assert high_ids == set(range(200, 250))


def test_most_overdue_first_within_a_priority() -> None:
    profile = VenueProfile("v", 1, job_requests=1)
    markets = states(SyncPriority.NORMAL, range(5), 1000) + states(
        SyncPriority.NORMAL, range(5, 6), 5000
    )
    out = plan(markets, now=NOW, cadences=CAD, profile=profile, budget=2, kinds=QUOTES_ONLY)
    assert out[0].market_ids == (5,)
    assert len(out) == 2


def test_never_synced_markets_come_before_due_ones_of_the_same_priority() -> None:
    profile = VenueProfile("v", 1, job_requests=1)
    markets = states(SyncPriority.NORMAL, range(3), 1000) + states(
        SyncPriority.NORMAL, range(3, 4), None
    )
    out = plan(markets, now=NOW, cadences=CAD, profile=profile, budget=1, kinds=QUOTES_ONLY)
    assert out[0].market_ids == (3,)


def test_busy_markets_are_left_out() -> None:
    profile = VenueProfile("v", 1, batch={DataKind.QUOTES: 100})
    markets = states(SyncPriority.NORMAL, range(10), 1000)
    out = plan(
        markets,
        now=NOW,
        cadences=CAD,
        profile=profile,
        budget=10,
        kinds=QUOTES_ONLY,
        busy={DataKind.QUOTES: {1, 2, 3}},
    )
    assert sorted(i for r in out for i in r.market_ids) == [0, 4, 5, 6, 7, 8, 9]


def test_lead_plans_markets_that_fall_due_before_the_next_cycle() -> None:
    markets = states(SyncPriority.HIGH, range(1), 57)
    args = {
        "now": NOW,
        "cadences": CAD,
        "profile": VenueProfile("v", 1),
        "budget": 5,
        "kinds": QUOTES_ONLY,
    }
    assert plan(markets, **args) == []  # type: ignore[arg-type]
    assert len(plan(markets, lead_seconds=5, **args)) == 1  # type: ignore[arg-type]


def test_request_cost_counts_against_the_budget() -> None:
    profile = VenueProfile("v", 1, cost={DataKind.QUOTES: 2}, job_requests=1)
    markets = states(SyncPriority.NORMAL, range(10), 1000)
    out = plan(markets, now=NOW, cadences=CAD, profile=profile, budget=7, kinds=QUOTES_ONLY)
    assert len(out) == 3 and sum(r.cost for r in out) == 6


def test_single_market_requests_are_grouped_into_jobs() -> None:
    profile = VenueProfile("v", 1, job_requests=4)
    markets = states(SyncPriority.NORMAL, range(10), 1000)
    out = plan(markets, now=NOW, cadences=CAD, profile=profile, budget=9, kinds=QUOTES_ONLY)
    # jobs of 4, 4 and 2 requests; the last does not fit in what is left (1)
    assert [r.cost for r in out] == [4, 4]
    assert [len(r.market_ids) for r in out] == [4, 4]


def test_all_kinds_are_planned_with_their_own_cadence() -> None:
    last = NOW - timedelta(hours=2)
    m = MarketState(1, SyncPriority.NORMAL, {k: last for k in DataKind})
    out = plan([m], now=NOW, cadences=CAD, profile=VenueProfile("v", 1), budget=10)
    # normal: quotes (15 min) and trades (1 h) are due; metadata (24 h) is not; no books.
    assert {r.kind for r in out} == {DataKind.QUOTES, DataKind.TRADES}


def test_overdue_ratio() -> None:
    assert overdue_ratio(None, NOW, 60) == 3.0
    assert overdue_ratio(NOW - timedelta(seconds=120), NOW, 60) == 2.0
