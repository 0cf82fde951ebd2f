"""The default client budgets keep a venue's own limiter from ever answering 429."""

from __future__ import annotations

import asyncio
import math

import pytest

from predhub.sim.config import SimConfig
from predhub.sim.runtime import Sim
from predhub.sim.testing import running_simulator
from predhub.venues.ratelimit import RateLimiter
from predhub.venues.registry import build_venue

# (venue, an endpoint every read spends budget on, the venue's documented requests/second)
CASES = [("kalshi", "/markets", 20.0), ("opinion", "/market", 15.0)]
SECONDS = 3.0


class SharedTime:
    """One time for the client's limiter and the venue's, moved only by the client's waits.

    On the wall clock the venue counts a request when it arrives, not when the
    client's bucket let it go: the first burst opens a connection per request and
    arrives later than the requests that follow on open connections, so on a
    loaded machine the venue saw more than its burst at once and answered 429
    (transport jitter, not the budget). Here time moves only when the client's
    bucket waits for tokens, and only once every request it already let go has
    been answered, so the venue counts each request at the instant it was sent.
    """

    def __init__(self, sim: Sim, venue: str) -> None:
        self.now = 0.0
        self.sent = 0
        self._sim = sim
        self._venue = venue

    def clock(self) -> float:
        return self.now

    def answered(self) -> int:
        stats = dict(self._sim.control.stats)  # one copy: the simulator's thread writes it
        return sum(n for (venue, _endpoint, _status), n in stats.items() if venue == self._venue)

    async def sleep(self, seconds: float) -> None:
        for _ in range(30_000):  # the simulator's thread answers within seconds, even loaded
            if self.answered() >= self.sent:
                break
            await asyncio.sleep(0.001)
        else:
            raise AssertionError(f"{self.sent - self.answered()} requests were never answered")
        # On a microsecond grid and a microsecond at least, as a real clock moves:
        # a bucket a rounding error short of a token asks for 1e-17 s, which
        # added to the time would leave it where it was.
        self.now = (round(self.now * 1e6) + max(1, math.ceil(seconds * 1e6))) / 1e6
        await asyncio.sleep(0)


class CountingLimiter(RateLimiter):
    """The client's limiter, counting the requests it lets go."""

    def __init__(self, time: SharedTime, defaults: RateLimiter) -> None:
        limits = {key: bucket.limit for key, bucket in defaults.buckets.items()}
        super().__init__(limits, clock=time.clock, sleep=time.sleep)
        self._time = time

    async def acquire(self, endpoint: str, cost: float = 1.0) -> float:
        waited = await super().acquire(endpoint, cost)
        self._time.sent += 1
        return waited


@pytest.mark.parametrize(("name", "endpoint", "limit"), CASES)
async def test_a_client_pushing_as_hard_as_it_may_meets_no_429(
    name: str, endpoint: str, limit: float
) -> None:
    """Forty concurrent readers for three seconds, default settings, the venue's own
    rate limiter on: every request is answered, none refused."""
    with running_simulator(SimConfig.small(rate_limits=True, seed=3)) as sim:
        venue = build_venue(name, sim.settings(http_max_retries=0))
        http = venue.http  # type: ignore[attr-defined]
        time = SharedTime(sim.sim, name)
        sim.sim.control.limit_clock = time.clock
        http.limiter = CountingLimiter(time, http.limiter)  # the default budgets, shared time

        async def reader() -> int:
            done = 0
            while time.now < SECONDS:
                await http.get_json(endpoint, params={"limit": 1})
                done += 1
            return done

        try:
            answered = sum(await asyncio.gather(*(reader() for _ in range(40))))
        finally:
            await venue.close()
        assert sim.count(name, status=429) == 0
        assert sim.count(name) == answered == time.sent
        # The budget was really spent: the venue's burst and its rate, not far under them.
        assert answered >= limit * SECONDS
