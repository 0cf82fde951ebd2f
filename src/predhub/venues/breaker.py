"""A circuit breaker per venue: fail fast while the venue is down.

Closed: calls pass; `threshold` consecutive failures open it. Open: calls
raise `BreakerOpen` at once (no request, no rate budget spent) until
`reset_seconds` have passed. Half-open: exactly one probe call passes; its
success closes the breaker, its failure re-opens it for another period.
Rate limiting (429) is not a failure here: the venue is up, we are too fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from predhub.venues.errors import BreakerOpen


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker with a single half-open probe."""

    def __init__(
        self,
        venue: str,
        *,
        threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.venue = venue
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.opened_count = 0  # how many times it opened (for tests and metrics)

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def before_call(self) -> bool:
        """Let a call through or raise `BreakerOpen`; True when the call is the probe."""
        if self._opened_at is None:
            return False
        waited = self._clock() - self._opened_at
        if waited < self.reset_seconds:
            raise BreakerOpen(self.venue, self.reset_seconds - waited)
        if self._probing:  # one probe at a time while half-open
            raise BreakerOpen(self.venue, 0.0)
        self._probing = True
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.threshold:
            if self._opened_at is None or self._probing:
                self.opened_count += 1
            self._opened_at = self._clock()
            self._probing = False

    def release_probe(self) -> None:
        """The probe ended without a verdict (e.g. rate limited): allow another."""
        self._probing = False
