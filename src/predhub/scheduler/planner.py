"""The budget planner: a pure function from market states to venue requests.

For every market and data kind it computes how overdue the data is (staleness
divided by the cadence of the market's priority) times the value of that
priority and kind; due items are grouped into batch-sized requests (markets of
one priority together, so cutting a request never strands a high-priority
market behind low ones), the requests are ranked by score and cut to the
venue's budget for the cycle. No I/O: it is tested on plain data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from predhub.models import SyncPriority
from predhub.scheduler.budget import VenueProfile
from predhub.scheduler.cadence import (
    KIND_VALUE,
    PRIORITY_ORDER,
    PRIORITY_VALUE,
    Cadences,
    DataKind,
)

# A never-synced market counts as this many cadences overdue: urgent within
# its priority, yet below a merely due market of the priority above.
NEVER_SYNCED_RATIO = 3.0


@dataclass(frozen=True, slots=True)
class MarketState:
    """One market as the planner sees it: its priority and last sync per kind."""

    id: int
    priority: SyncPriority
    synced: Mapping[DataKind, datetime | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """One job's worth of requests: one batch request, or a few single-market ones."""

    kind: DataKind
    priority: SyncPriority
    market_ids: tuple[int, ...]
    cost: int
    score: float


@dataclass(frozen=True, slots=True)
class _Due:
    market_id: int
    score: float


def overdue_ratio(
    last: datetime | None, now: datetime, cadence: float, *, lead_seconds: float = 0.0
) -> float:
    """Staleness (plus `lead_seconds`, the wait until the next cycle) over the cadence."""
    if last is None:
        return NEVER_SYNCED_RATIO
    return max(0.0, (now - last).total_seconds() + lead_seconds) / cadence


@dataclass(frozen=True, slots=True)
class DueItem:
    """One market's data kind, with its last sync: what the database says may be due."""

    id: int
    priority: SyncPriority
    kind: DataKind
    synced: datetime | None


def plan(
    markets: Iterable[MarketState],
    *,
    now: datetime,
    cadences: Cadences,
    profile: VenueProfile,
    budget: int,
    kinds: Sequence[DataKind] = tuple(DataKind),
    busy: Mapping[DataKind, set[int]] | None = None,
    lead_seconds: float = 0.0,
) -> list[PlannedRequest]:
    """The requests worth making this cycle, highest priority first, within `budget`.

    An item is due when it will be at least one cadence old by the next cycle
    (`lead_seconds` ahead). Markets in `busy[kind]` (already in a queued or
    running job of that kind) are left out.
    """
    items = (
        DueItem(market.id, market.priority, kind, market.synced.get(kind))
        for market in markets
        for kind in kinds
    )
    return plan_due(
        items,
        now=now,
        cadences=cadences,
        profile=profile,
        budget=budget,
        busy=busy,
        lead_seconds=lead_seconds,
    )


def plan_due(
    items: Iterable[DueItem],
    *,
    now: datetime,
    cadences: Cadences,
    profile: VenueProfile,
    budget: int,
    busy: Mapping[DataKind, set[int]] | None = None,
    lead_seconds: float = 0.0,
) -> list[PlannedRequest]:
    """`plan` over (market, kind) items: the worker passes only the items the database
    found due, at most as many per kind and priority as the budget could take, so a
    cycle's cost follows what is due and the budget, not the catalogue."""
    busy = busy or {}
    due: dict[tuple[DataKind, SyncPriority], list[_Due]] = {}
    for item in items:
        cadence = cadences.get(item.priority, item.kind)
        if cadence is None or item.id in busy.get(item.kind, ()):
            continue
        ratio = overdue_ratio(item.synced, now, cadence, lead_seconds=lead_seconds)
        if ratio < 1.0:
            continue
        score = ratio * PRIORITY_VALUE[item.priority] * KIND_VALUE[item.kind]
        due.setdefault((item.kind, item.priority), []).append(_Due(item.id, score))

    candidates: list[PlannedRequest] = []
    for (kind, priority), group in due.items():
        group.sort(key=lambda d: (-d.score, d.market_id))
        size = profile.job_size(kind)
        for start in range(0, len(group), size):
            chunk = group[start : start + size]
            candidates.append(
                PlannedRequest(
                    kind=kind,
                    priority=priority,
                    market_ids=tuple(d.market_id for d in chunk),
                    cost=profile.job_cost(kind, len(chunk)),
                    score=chunk[0].score,
                )
            )

    return choose(candidates, budget)


def choose(candidates: Iterable[PlannedRequest], budget: int) -> list[PlannedRequest]:
    """The best `candidates` within `budget`, highest priority first.

    Candidates are taken by score (a request that no longer fits is passed over
    for cheaper ones after it) until the budget is spent. The worker builds its
    candidates in the database, chunked as `plan_due` chunks them, and calls
    this directly.
    """
    ordered = sorted(candidates, key=lambda r: (-r.score, r.kind.value, r.market_ids))
    chosen: list[PlannedRequest] = []
    left = budget
    for request in ordered:
        if request.cost <= left:
            chosen.append(request)
            left -= request.cost
        if left <= 0:
            break
    rank = {p: i for i, p in enumerate(PRIORITY_ORDER)}
    chosen.sort(key=lambda r: (rank[r.priority], -r.score))
    return chosen
