"""Token buckets per venue API and per endpoint, from each venue's documented limits.

A venue declares its limits as `{endpoint prefix: RateLimit}`; the key `"*"`
is the budget of the whole API (host). A request spends `cost` tokens from
the host bucket and from the bucket of the longest matching endpoint prefix
(path-segment prefix: `/markets` covers `/markets/keyset` and `/markets/{id}`
but not `/marketsfoo`). Budgets are multiplied by `rate_limit_scale` and can
be overridden per endpoint with the `VENUE_RATE_LIMITS` setting, written as
`venue:endpoint=requests/seconds` items separated by `;`, e.g.
`<venue>:/markets=150/10;<other venue>:*=10/1`.

Waiting for tokens is cooperative (an `asyncio.Lock` per bucket keeps
waiters in arrival order), so a burst of tasks is spread over time instead
of being answered 429 by the venue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`requests` tokens per `per_seconds`; the bucket holds at most `burst` (default: requests)."""

    requests: float
    per_seconds: float = 1.0
    burst: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.per_seconds

    def scaled(self, factor: float) -> RateLimit:
        burst = None if self.burst is None else self.burst * factor
        return RateLimit(self.requests * factor, self.per_seconds, burst)


class TokenBucket:
    """A classic token bucket; `acquire` waits until `cost` tokens are available."""

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self.capacity = max(limit.burst if limit.burst is not None else limit.requests, 1.0)
        self.tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._stamp) * self.limit.rate)
        self._stamp = now

    async def acquire(self, cost: float = 1.0) -> float:
        """Take `cost` tokens, waiting as needed; returns the seconds waited."""
        cost = min(cost, self.capacity)  # a cost above the burst could never be paid
        waited = 0.0
        async with self._lock:
            while True:
                self._refill()
                if self.tokens >= cost:
                    self.tokens -= cost
                    return waited
                delay = (cost - self.tokens) / self.limit.rate
                await self._sleep(delay)
                waited += delay


def parse_overrides(text: str) -> dict[str, dict[str, RateLimit]]:
    """Parse `venue:endpoint=requests/seconds;...` into {venue: {endpoint: limit}}."""
    out: dict[str, dict[str, RateLimit]] = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        try:
            target, budget = item.split("=", 1)
            venue, endpoint = target.split(":", 1)
            requests, _, seconds = budget.partition("/")
            limit = RateLimit(float(requests), float(seconds or 1))
        except ValueError as exc:
            raise ValueError(
                f"bad rate limit {item!r}: want venue:endpoint=requests/seconds"
            ) from exc
        if limit.requests <= 0 or limit.per_seconds <= 0:
            raise ValueError(f"bad rate limit {item!r}: must be positive")
        out.setdefault(venue.strip().lower(), {})[endpoint.strip()] = limit
    return out


def _matches(prefix: str, endpoint: str) -> bool:
    return endpoint == prefix or endpoint.startswith(prefix.rstrip("/") + "/")


class RateLimiter:
    """The buckets of one venue API: the host budget plus per-endpoint budgets."""

    def __init__(
        self,
        limits: Mapping[str, RateLimit],
        *,
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.buckets = {
            key: TokenBucket(limit.scaled(scale), clock=clock, sleep=sleep)
            for key, limit in limits.items()
        }

    def buckets_for(self, endpoint: str) -> list[TokenBucket]:
        found: list[TokenBucket] = []
        if "*" in self.buckets:
            found.append(self.buckets["*"])
        prefixes = [k for k in self.buckets if k != "*" and _matches(k, endpoint)]
        if prefixes:
            found.append(self.buckets[max(prefixes, key=len)])
        return found

    async def acquire(self, endpoint: str, cost: float = 1.0) -> float:
        """Spend `cost` from every bucket that governs `endpoint`; returns seconds waited."""
        waited = 0.0
        for bucket in self.buckets_for(endpoint):
            waited += await bucket.acquire(cost)
        return waited
