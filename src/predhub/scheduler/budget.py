"""What the planner knows of each venue's budget: endpoint profiles and batch sizes.

The budget itself (the cap per minute and its shared account in
`ops.venue_usage`, reserved before a job runs, extended as it goes, given
back after) is `predhub.venues.budget.VenueBudget`, which API refreshes use
as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from predhub.scheduler.cadence import DataKind
from predhub.settings import Settings
from predhub.venues.budget import requests_per_second
from predhub.venues.descriptor import descriptor


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """What the planner needs to know about a venue's endpoints.

    `requests_per_second` is the documented limit of the endpoints the engine
    polls; `batch` is how many markets one request covers per data kind (batch
    endpoints), `cost` how many requests one such batch takes.
    """

    name: str
    requests_per_second: float
    batch: dict[DataKind, int] = field(default_factory=dict)
    cost: dict[DataKind, int] = field(default_factory=dict)
    job_requests: int = 10  # one-market-per-request kinds are grouped this many to a job

    def batch_size(self, kind: DataKind) -> int:
        return max(1, self.batch.get(kind, 1))

    def job_size(self, kind: DataKind) -> int:
        """Markets per job: one batch, or `job_requests` single-market requests."""
        size = self.batch_size(kind)
        return size if size > 1 else max(1, self.job_requests)

    def job_cost(self, kind: DataKind, markets: int) -> int:
        """Requests a job over `markets` markets takes."""
        return -(-markets // self.batch_size(kind)) * self.batch_cost(kind)

    def batch_cost(self, kind: DataKind) -> int:
        return max(1, self.cost.get(kind, 1))


def venue_profile(venue: str) -> VenueProfile:
    """The planner's profile of `venue`, from its descriptor (`UnknownVenue` if none).

    The requests per second are the adapter limiter's own figure for the
    tightest endpoint the engine polls, so planner and limiter agree.
    """
    desc = descriptor(venue)
    return VenueProfile(
        desc.name,
        desc.requests_per_second,
        {DataKind(kind): size for kind, size in desc.planner.batch.items()},
        {DataKind(kind): cost for kind, cost in desc.planner.cost.items()},
        desc.planner.job_requests,
    )


OVERSHOOT_HEADROOM = 0.1  # share of the cap kept free for jobs that need more than estimated


def profile_for(venue: str, settings: Settings) -> VenueProfile:
    """The venue's profile with any `VENUE_REQUEST_BUDGETS` override applied."""
    base = venue_profile(venue)
    # no batched refresh job carries more than PRICE_FETCH_BATCH_SIZE markets
    chunk = max(1, settings.price_fetch_batch_size)
    return VenueProfile(
        base.name,
        requests_per_second(venue, settings),
        {kind: min(size, chunk) for kind, size in base.batch.items()},
        dict(base.cost),
        base.job_requests,
    )
