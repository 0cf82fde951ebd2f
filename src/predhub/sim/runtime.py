"""The running simulator: a world, its clock, and the serving controls.

The clock maps real time to simulated time (`speed` simulated seconds per
real second, plus whatever `advance` added); every request first brings the
world up to the clock, so state is computed on access and a background tick
only spreads the work out and feeds the WebSocket.
"""

from __future__ import annotations

import gc
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from predhub.sim.config import FaultRule, SimConfig
from predhub.sim.world import World


class SimClock:
    def __init__(self, start: float, speed: float) -> None:
        self._base = start
        self._real0 = time.monotonic()
        self.speed = speed

    def now(self) -> float:
        return self._base + (time.monotonic() - self._real0) * self.speed

    def set_speed(self, speed: float) -> None:
        self._base = self.now()
        self._real0 = time.monotonic()
        self.speed = speed

    def advance(self, seconds: float) -> None:
        self._base += seconds


class TokenBucket:
    """`rate` tokens per second up to `capacity`; may run negative to queue (delay mode).

    `clock` is what the bucket measures time by: the monotonic clock, or a
    time a test moves by hand, shared with the client's limiter, so what it
    checks is the client's pacing and not when the requests happen to arrive.
    """

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self._clock = clock
        self.at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def try_take(self, cost: float = 1.0) -> bool:
        self._refill()
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def delay_for(self, cost: float = 1.0) -> float:
        """Take now, and say how long the caller must wait for its turn."""
        self._refill()
        self.tokens -= cost
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass
class Control:
    """Counters, faults, latency and rate limits, adjustable at run time."""

    latency_scale: float
    rate_limits: bool
    ws_ping_seconds: float = 25.0
    faults: list[FaultRule] = field(default_factory=list)
    stats: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    buckets: dict[tuple[str, str], TokenBucket] = field(default_factory=dict)
    limit_clock: Callable[[], float] = time.monotonic  # what the venues' rate limits count by
    fault_rng: random.Random = field(default_factory=random.Random)
    latency_rng: random.Random = field(default_factory=random.Random)

    def record(self, venue: str, endpoint: str, status: int) -> None:
        self.stats[(venue, endpoint, status)] += 1

    def pick_fault(
        self, venue: str, endpoint: str, kinds: frozenset[str] | None = None
    ) -> FaultRule | None:
        for rule in self.faults:
            if kinds is not None and rule.kind not in kinds:
                continue
            if not rule.matches(venue, endpoint):
                continue
            if rule.count is not None and rule.count <= 0:
                continue
            if rule.rate < 1.0 and self.fault_rng.random() >= rule.rate:
                continue
            if rule.count is not None:
                rule.count -= 1
            return rule
        return None

    def bucket(self, key: tuple[str, str], rate: float, capacity: float) -> TokenBucket:
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = TokenBucket(rate, capacity, self.limit_clock)
        return b

    def stats_json(self) -> dict[str, object]:
        rows = [
            {"venue": v, "endpoint": e, "status": s, "count": n}
            for (v, e, s), n in sorted(self.stats.items())
        ]
        by_venue: Counter[str] = Counter()
        for (v, _e, _s), n in self.stats.items():
            by_venue[v] += n
        return {"total": sum(self.stats.values()), "by_venue": dict(by_venue), "requests": rows}


class Sim:
    """Everything one simulator process serves."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        start = config.start if config.start is not None else float(int(time.time()))
        self.world = World(config, start)
        # The world (hundreds of thousands of objects at 55,000 markets) lives as long as
        # the simulator: moved out of the collector's reach, full collections (which any
        # large response triggers) stop scanning it, in its own process or one it shares
        # with a loader under test, whose collections would otherwise grow with the world.
        gc.collect()
        gc.freeze()
        self.clock = SimClock(start, config.speed)
        self.control = Control(
            latency_scale=config.latency_scale,
            rate_limits=config.rate_limits,
            ws_ping_seconds=config.ws_ping_seconds,
            faults=[f.model_copy() for f in config.faults],
            fault_rng=random.Random(config.seed + 17),
            latency_rng=random.Random(config.seed + 29),
        )
        # public keys the venues accept signatures from: (venue, key id) -> key
        self.accepted_keys: dict[tuple[str, str], object] = {}

    def sync(self) -> float:
        """Bring the world up to the clock; returns the simulated now."""
        now = self.clock.now()
        if now > self.world.now:
            self.world.advance_to(now)
        return self.world.now

    def advance(self, seconds: float) -> int:
        self.clock.advance(seconds)
        before = self.world.trades.total
        self.sync()
        return self.world.trades.total - before

    def close(self) -> None:
        self.world.close()
