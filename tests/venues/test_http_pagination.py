"""Pagination guards and the pure pieces of the HTTP layer."""

from __future__ import annotations

import pytest

from predhub.venues.breaker import BreakerState, CircuitBreaker
from predhub.venues.errors import BreakerOpen, CursorLoop, FatalError
from predhub.venues.pagination import CursorGuard, OffsetGuard
from predhub.venues.ratelimit import RateLimit, TokenBucket, parse_overrides


def test_cursor_guard_stops_at_end_markers() -> None:
    guard = CursorGuard("v", "/markets")
    assert guard.advance("abc") == "abc"
    assert guard.advance("def") == "def"
    assert guard.advance("LTE=") is None
    assert CursorGuard("v", "/m").advance("") is None
    assert CursorGuard("v", "/m").advance(None) is None


def test_cursor_guard_detects_a_loop() -> None:
    guard = CursorGuard("v", "/markets/keyset")
    guard.advance("c1")
    guard.advance("c2")
    with pytest.raises(CursorLoop) as info:
        guard.advance("c1")
    assert isinstance(info.value, FatalError)
    assert "v /markets/keyset" in str(info.value)


def test_cursor_guard_caps_pages() -> None:
    guard = CursorGuard("v", "/e", max_pages=3)
    guard.advance("a")
    guard.advance("b")
    with pytest.raises(CursorLoop):
        guard.advance("c")


def test_offset_guard() -> None:
    guard = OffsetGuard(100, max_offset=250)
    assert guard.advance(100) == 100
    assert guard.advance(100) == 200
    assert guard.advance(100) is None  # 300 > 250
    assert OffsetGuard(100).advance(42) is None


def test_breaker_with_a_fake_clock() -> None:
    now = [0.0]
    breaker = CircuitBreaker("v", threshold=2, reset_seconds=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_success()  # a success resets the consecutive count
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(BreakerOpen):
        breaker.before_call()
    now[0] = 10.0
    assert breaker.before_call() is True  # the probe
    with pytest.raises(BreakerOpen):
        breaker.before_call()  # only one probe at a time
    breaker.release_probe()
    assert breaker.before_call() is True
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.before_call() is False


async def test_token_bucket_waits_the_exact_deficit() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(RateLimit(10, 1), clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        assert await bucket.acquire() == 0
    assert await bucket.acquire(2) == pytest.approx(0.2)
    assert waits == [pytest.approx(0.2)]


def test_parse_overrides() -> None:
    parsed = parse_overrides("polymarket:/markets=150/10; opinion:*=10")
    assert parsed["polymarket"]["/markets"] == RateLimit(150, 10)
    assert parsed["opinion"]["*"] == RateLimit(10, 1)
    with pytest.raises(ValueError):
        parse_overrides("nonsense")
    with pytest.raises(ValueError):
        parse_overrides("v:*=0/1")
