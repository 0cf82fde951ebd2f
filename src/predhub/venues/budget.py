"""Each venue's request budget: one shared per-minute account in `ops.venue_usage`.

Workers and API refreshes alike draw every upstream request from the same
row of the venue's current minute, so the hub as a whole stays under the
venue's limit however many processes call it. A `VenueBudget` is that
account for one venue: `reserve` (a conditional upsert that refuses to pass
the cap), `book` (requests beyond a reservation or given back, errors and
retries), and `allowance`, the requests one load may send: reserved up
front or as it goes, extended past the reservation, and, when the minute is
spent, either waiting for the next minute (a worker's job, which should
finish) or refused at once with `BudgetSpent` (an API refresh, whose caller
is served the stored row instead). `drawing(allowance)` makes every request
of the HTTP layer in that context pass through it.

A venue's cap is its documented rate limit (the tightest endpoint the engine
polls, or `VENUE_REQUEST_BUDGETS`) × `rate_limit_scale`, per minute; workers
stop at `worker_budget_share` of it and leave the rest to API refreshes.
A history load the operator runs by hand (`predhub ingest history`) is not
held to that: it has a cap of its own (`history_cap_per_minute`), counted in
the same row so the workers see it and give way.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import asyncpg

from predhub.db.queries import load
from predhub.settings import Settings
from predhub.venues.descriptor import descriptor
from predhub.venues.errors import BudgetSpent
from predhub.venues.http import REQUEST_GATE

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


def minute_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def requests_per_second(venue: str, settings: Settings) -> float:
    """The venue's documented rate (its descriptor's), or its `VENUE_REQUEST_BUDGETS` override."""
    override = settings.venue_request_budgets.get(venue)
    return override if override is not None else descriptor(venue).requests_per_second


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


def published_per_second(venue: str) -> float:
    """Requests per second the venue's documented limits allow in all: each API's whole-host
    limit (`"*"`), or the sum of its endpoints' where it publishes none."""
    total = 0.0
    for limits in descriptor(venue).limits.values():
        host = limits.get("*")
        total += host.rate if host is not None else sum(lim.rate for lim in limits.values())
    return total


def history_cap_per_minute(venue: str, settings: Settings, rps: float | None = None) -> int:
    """What the shared minute row may hold while a hand-run history load draws from it.

    The load's own rate (`rps`, else `history_load_rps`; 0 means the venue's
    published limits × `rate_limit_scale`) on top of the workers' share: the
    row holds the workers' requests too, so the load gets its rate whatever
    they use, while workers, which reserve only up to their share of the same
    row, give way to it. The venue's per-endpoint limits and Retry-After pace
    every request as always.
    """
    own = settings.history_load_rps if rps is None else rps
    if own <= 0:
        own = published_per_second(venue) * settings.rate_limit_scale
    return budget_per_minute(venue, settings) + max(1, math.floor(own * 60))


def _per_minute(venue: str, settings: Settings, share: float) -> int:
    rps = requests_per_second(venue, settings)
    return max(1, math.floor(rps * 60 * share * settings.rate_limit_scale))


_Q = load("venue_budget")


class VenueBudget:
    """One venue's shared per-minute request account (see the module docstring).

    `cap` is the ceiling reservations stop at by default: the workers' share
    for a worker, the whole hub's cap for an API refresh.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        venue: str,
        *,
        cap: int,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.pool = pool
        self.venue = venue
        self.cap = cap
        self.clock = clock
        self.sleep = sleep

    @classmethod
    def for_workers(
        cls,
        pool: asyncpg.Pool,
        venue: str,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> VenueBudget:
        """The workers' share of the venue's cap."""
        cap = budget_per_minute(venue, settings)
        return cls(pool, venue, cap=cap, clock=clock, sleep=sleep)

    @classmethod
    def for_history(
        cls, pool: asyncpg.Pool, venue: str, settings: Settings, rps: float | None = None
    ) -> VenueBudget:
        """A history load run by hand: its own rate on top of the workers' share."""
        return cls(pool, venue, cap=history_cap_per_minute(venue, settings, rps))

    @classmethod
    def for_refreshes(cls, pool: asyncpg.Pool, venue: str, settings: Settings) -> VenueBudget:
        """The whole hub's cap: a refresh may use whatever the workers left."""
        return cls(pool, venue, cap=venue_cap_per_minute(venue, settings))

    async def reserve(
        self, cost: int, *, cap: int | None = None, now: datetime | None = None
    ) -> bool:
        """Reserve `cost` requests of this minute; False when it would pass `cap`."""
        return await reserve(
            self.pool,
            self.venue,
            cost,
            cap=self.cap if cap is None else cap,
            now=now or self.clock(),
        )

    async def book(
        self, *, now: datetime | None = None, requests: int = 0, errors: int = 0, retries: int = 0
    ) -> None:
        """Record requests beyond a reservation (or given back, when negative) and errors."""
        await book(
            self.pool,
            self.venue,
            now=now or self.clock(),
            requests=requests,
            errors=errors,
            retries=retries,
        )

    async def used_this_minute(self, now: datetime | None = None) -> int:
        return await used_this_minute(self.pool, self.venue, now or self.clock())

    def allowance(self, *, reserved: int = 0, wait: bool = True, block: int = 5) -> Allowance:
        """The requests one load may send, `reserved` of them reserved already.

        With `wait`, a request past a spent minute waits for the next one;
        without, it is refused with `BudgetSpent`.
        """
        return Allowance(self, reserved=reserved, wait=wait, block=block)


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
    used = await conn.fetchval(_Q.reserve_requests, venue, minute_of(now), cost, cap)
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
        await conn.execute(_Q.book_usage, venue, minute_of(now), requests, errors, retries)


async def used_this_minute(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, now: datetime
) -> int:
    value = await conn.fetchval(_Q.minute_requests, venue, minute_of(now))
    return int(value or 0)


class Allowance:
    """The requests one load may send: its reservation, extended as it goes.

    A load may need more requests than planned (a trade sync paging through a
    busy market). Each request past the reservation reserves a few more from
    the venue's shared minute budget, up to the budget's cap; when the
    minute's budget is spent, the request waits for the next minute (`wait`:
    the budget is a ceiling and the job still finishes, keeping the pages
    already read) or is refused with `BudgetSpent`. Every attempt the HTTP
    layer makes passes through `spend`, so `used` is the load's request count.
    """

    def __init__(self, budget: VenueBudget, *, reserved: int, wait: bool, block: int) -> None:
        self.budget = budget
        self.reserved = reserved
        self.used = 0
        self.waited = 0.0
        self.refusal: BudgetSpent | None = None
        self._wait = wait
        self._block = max(1, block)
        self._lock = asyncio.Lock()
        self._minute = minute_of(budget.clock())  # of the latest reservation

    async def spend(self, attempt: int = 0) -> None:
        """Count one request, reserving more of the budget first if need be."""
        budget = self.budget
        async with self._lock:  # concurrent requests of one load extend it once
            self.used += 1
            while self.used > self.reserved:
                now = budget.clock()
                short = self.used - self.reserved
                for size in dict.fromkeys((max(self._block, short), short)):
                    if await budget.reserve(size, now=now):
                        if minute_of(now) != self._minute:  # what is left of an old minute is gone
                            self.reserved, self._minute = self.used - 1, minute_of(now)
                        self.reserved += size
                        break
                else:
                    if not self._wait:
                        self.used -= 1  # it was never sent
                        self.refusal = BudgetSpent(
                            f"this minute's request budget ({budget.cap}) is spent",
                            venue=budget.venue,
                        )
                        raise self.refusal
                    wait = (minute_of(now) + timedelta(minutes=1) - now).total_seconds()
                    pause = min(max(wait, 0.05), 1.0)  # re-check the clock every second
                    self.waited += pause
                    await budget.sleep(pause)

    async def release(self) -> None:
        """Give back what the load reserved but did not use, if its minute is still on."""
        spare = self.reserved - self.used
        now = self.budget.clock()
        if spare > 0 and minute_of(now) == self._minute:
            await self.budget.book(now=now, requests=-spare)
        self.reserved = self.used


@contextlib.contextmanager
def drawing(allowance: Allowance) -> Iterator[Allowance]:
    """Every venue request made in this context is first drawn from `allowance`."""
    token = REQUEST_GATE.set(allowance.spend)
    try:
        yield allowance
    finally:
        REQUEST_GATE.reset(token)
