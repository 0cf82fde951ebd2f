"""Each venue's request budget, and its shared accounting in `ops.venue_usage`.

A venue's budget is its documented rate limit (the tightest endpoint the
engine polls) × `worker_budget_share` × `rate_limit_scale`, counted per
minute. Every worker reserves a job's requests in the venue's row for the
current minute *before* running it, with one conditional upsert that refuses
to pass the cap, so any number of workers on any number of machines together
never exceed the budget. A job that needs more than its estimate reserves
more as it goes, or waits for the next minute (`Allowance`); what it reserved
and did not use is given back, and its errors are booked for `predhub status`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from predhub.db.queries import load
from predhub.scheduler.cadence import DataKind
from predhub.settings import Settings
from predhub.venues.descriptor import descriptor

_Q = load("scheduler_budget")


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
    """The planner's profile of `venue`, from its descriptor (`UnknownVenueName` if none).

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
    override = settings.venue_request_budgets.get(venue)
    # ingestion splits every batch call at PRICE_FETCH_BATCH_SIZE markets
    chunk = max(1, settings.price_fetch_batch_size)
    return VenueProfile(
        base.name,
        base.requests_per_second if override is None else override,
        {kind: min(size, chunk) for kind, size in base.batch.items()},
        dict(base.cost),
        base.job_requests,
    )


def budget_per_minute(venue: str, settings: Settings) -> int:
    """Requests per minute the workers together may send to `venue`."""
    return _per_minute(venue, settings, settings.worker_budget_share)


def venue_cap_per_minute(venue: str, settings: Settings) -> int:
    """Requests per minute the whole hub (workers and API refreshes) may send to `venue`.

    Workers stop at their share of it (`budget_per_minute`); the rest is kept
    for refreshes that API callers ask for, which draw from the same minute's
    row and may use whatever the workers left.
    """
    return _per_minute(venue, settings, 1.0)


def _per_minute(venue: str, settings: Settings, share: float) -> int:
    rps = profile_for(venue, settings).requests_per_second
    return max(1, math.floor(rps * 60 * share * settings.rate_limit_scale))


def minute_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


_RESERVE = _Q.reserve_requests

_BOOK = _Q.book_usage


async def reserve(
    conn: asyncpg.Connection | asyncpg.Pool,
    venue: str,
    cost: int,
    *,
    cap: int,
    now: datetime,
) -> bool:
    """Reserve `cost` requests of this minute's budget; False when it would pass `cap`."""
    if cost > cap:
        return False
    used = await conn.fetchval(_RESERVE, venue, minute_of(now), cost, cap)
    return used is not None


async def book(
    conn: asyncpg.Connection | asyncpg.Pool,
    venue: str,
    *,
    now: datetime,
    requests: int = 0,
    errors: int = 0,
    retries: int = 0,
) -> None:
    """Record requests beyond a reservation (or given back, when negative) and errors."""
    if requests or errors or retries:
        await conn.execute(_BOOK, venue, minute_of(now), requests, errors, retries)


async def used_this_minute(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, now: datetime
) -> int:
    value = await conn.fetchval(
        _Q.minute_requests,
        venue,
        minute_of(now),
    )
    return int(value or 0)


class Allowance:
    """The requests one job may send: its reservation, extended as it goes.

    A job may need more requests than planned (a trade sync paging through a
    busy market). Each request past the reservation reserves a few more from
    the venue's shared minute budget, up to the full cap; when the minute's
    budget is spent, the request waits for the next minute instead. So the
    budget is a ceiling, and the job still finishes: stopping it half-way
    would throw away the pages already read.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        venue: str,
        *,
        reserved: int,
        cap: int,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        block: int = 5,
    ) -> None:
        self.pool = pool
        self.venue = venue
        self.reserved = reserved
        self.used = 0
        self.waited = 0.0
        self._cap = cap
        self._clock = clock
        self._sleep = sleep
        self._block = max(1, block)
        self._lock = asyncio.Lock()
        self._minute = minute_of(clock())  # of the latest reservation

    async def spend(self) -> None:
        """Count one request, reserving more of the budget first if need be."""
        async with self._lock:  # concurrent requests of one job extend it once
            self.used += 1
            while self.used > self.reserved:
                now = self._clock()
                short = self.used - self.reserved
                for size in dict.fromkeys((max(self._block, short), short)):
                    if await reserve(self.pool, self.venue, size, cap=self._cap, now=now):
                        if minute_of(now) != self._minute:  # what is left of an old minute is gone
                            self.reserved, self._minute = self.used - 1, minute_of(now)
                        self.reserved += size
                        break
                else:
                    wait = (minute_of(now) + timedelta(minutes=1) - now).total_seconds()
                    pause = min(max(wait, 0.05), 1.0)  # re-check the clock every second
                    self.waited += pause
                    await self._sleep(pause)

    async def release(self) -> None:
        """Give back what the job reserved but did not use, if its minute is still on."""
        spare = self.reserved - self.used
        if spare > 0 and minute_of(self._clock()) == self._minute:
            await book(self.pool, self.venue, now=self._clock(), requests=-spare)
        self.reserved = self.used
