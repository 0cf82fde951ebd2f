"""The shared HTTP layer against a real local HTTP server: retries, limits, breaker, metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import SecretStr
from structlog.testing import capture_logs

from predhub.settings import Settings
from predhub.venues.breaker import BreakerState
from predhub.venues.errors import (
    BreakerOpen,
    FatalError,
    NotJsonError,
    RateLimited,
    RetriableError,
    VenueNotFound,
)
from predhub.venues.http import VenueHttp, parse_retry_after
from predhub.venues.metrics import VenueMetrics, VenueMetricsCollector
from predhub.venues.ratelimit import RateLimit, parse_overrides

from .conftest import Reply, ScriptedServer


class Sleeps:
    """Records backoff waits and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def http(
    scripted: ScriptedServer, fast_settings: Settings, sleeps: Sleeps
) -> AsyncIterator[VenueHttp]:
    client = VenueHttp.for_venue(
        "testvenue", scripted.url, fast_settings, sleep=sleeps, metrics=VenueMetrics()
    )
    yield client
    await client.close()


async def test_get_returns_body_and_raw_response(scripted: ScriptedServer, http: VenueHttp) -> None:
    scripted.script("/markets/42", Reply(json={"id": "42", "price": "0.5"}))
    before = datetime.now(UTC)
    body, raw = await http.get_json("/markets/{id}", "/markets/42", {"full": "true", "skip": None})
    assert body == {"id": "42", "price": "0.5"}
    assert raw.venue == "testvenue"
    assert raw.endpoint == "/markets/{id}"
    assert raw.params == {"full": "true"}  # None-valued params are not sent
    assert raw.status == 200
    assert raw.body == body
    assert before <= raw.fetched_at <= datetime.now(UTC)
    assert scripted.seen[0].query == {"full": ["true"]}


async def test_list_params_repeat_and_post_body_is_kept(
    scripted: ScriptedServer, http: VenueHttp
) -> None:
    scripted.script("/books", Reply(json=[{"asset_id": "1"}]))
    body, raw = await http.post_json(
        "/books", json_body=[{"token_id": "1"}], params={"ids": ["a", "b"]}
    )
    assert body == [{"asset_id": "1"}]
    assert raw.params == {"ids": ["a", "b"], "json": [{"token_id": "1"}]}
    seen = scripted.seen[0]
    assert seen.method == "POST"
    assert seen.body == b'[{"token_id":"1"}]'
    assert seen.query == {"ids": ["a", "b"]}


async def test_429_with_retry_after_waits_exactly_that(
    scripted: ScriptedServer, http: VenueHttp, sleeps: Sleeps
) -> None:
    scripted.script(
        "/x",
        Reply(429, {"error": "slow down"}, headers={"Retry-After": "1.5"}),
        Reply(429, {"error": "slow down"}, headers={"Retry-After": "0"}),
        Reply(json={"ok": True}),
    )
    body, _ = await http.get_json("/x")
    assert body == {"ok": True}
    assert sleeps.delays == [1.5, 0.0]
    assert scripted.hits("/x") == 3


async def test_429_without_retry_after_backs_off_with_jitter(
    scripted: ScriptedServer, fast_settings: Settings, sleeps: Sleeps
) -> None:
    settings = fast_settings.model_copy(
        update={"http_backoff_base_seconds": 0.5, "http_backoff_max_seconds": 1.0}
    )
    client = VenueHttp.for_venue("kalshi", scripted.url, settings, sleep=sleeps)
    scripted.script(
        "/y", Reply(429, {"error": "too many requests"}), Reply(429), Reply(429), Reply(json=[])
    )
    try:
        body, _ = await client.get_json("/y")
    finally:
        await client.close()
    assert body == []
    # full jitter: uniform(0, min(cap, base * 2**attempt))
    assert len(sleeps.delays) == 3
    for attempt, delay in enumerate(sleeps.delays):
        assert 0 <= delay <= min(1.0, 0.5 * 2**attempt)


async def test_retry_after_beyond_the_cap_is_raised_for_the_caller(
    scripted: ScriptedServer, http: VenueHttp, sleeps: Sleeps
) -> None:
    scripted.script("/z", Reply(429, {"error": "later"}, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as info:
        await http.get_json("/z")
    assert info.value.retry_after == 3600
    assert info.value.status == 429
    assert sleeps.delays == []
    assert scripted.hits("/z") == 1


async def test_5xx_burst_is_retried_then_succeeds(
    scripted: ScriptedServer, http: VenueHttp
) -> None:
    scripted.script("/p", Reply(503), Reply(502), Reply(json={"n": 1}))
    body, raw = await http.get_json("/p")
    assert body == {"n": 1}
    assert raw.status == 200
    stats = http._shared.metrics.snapshot()[("testvenue", "/p")]
    assert stats.requests == 3
    assert stats.retries == 2
    assert stats.errors["server"] == 2


async def test_persistent_5xx_gives_up_after_max_retries(
    scripted: ScriptedServer, fast_settings: Settings, sleeps: Sleeps
) -> None:
    settings = fast_settings.model_copy(update={"breaker_failure_threshold": 100})
    client = VenueHttp.for_venue("v", scripted.url, settings, sleep=sleeps)
    scripted.script("/p", Reply(500, text="<html>oops</html>"))
    try:
        with pytest.raises(RetriableError) as info:
            await client.get_json("/p")
    finally:
        await client.close()
    assert scripted.hits("/p") == settings.http_max_retries + 1
    assert info.value.status == 500
    assert "oops" in str(info.value)


async def test_timeouts_and_dropped_connections_are_retried(
    scripted: ScriptedServer, http: VenueHttp
) -> None:
    scripted.script(
        "/slow", Reply(json={"late": True}, delay=1.0), Reply(drop=True), Reply(json={"n": 2})
    )
    started = time.monotonic()
    body, _ = await http.get_json("/slow")
    assert body == {"n": 2}
    assert time.monotonic() - started < 1.0  # the 0.3 s client timeout cut the slow reply
    errors = http._shared.metrics.snapshot()[("testvenue", "/slow")].errors
    assert errors["timeout"] == 1
    assert errors["transport"] == 1


async def test_4xx_is_fatal_without_retry(scripted: ScriptedServer, http: VenueHttp) -> None:
    scripted.script(
        "/book", Reply(404, {"error": "No orderbook exists for the requested token id"})
    )
    scripted.script("/bad", Reply(400, {"error": "Invalid token id"}))
    with pytest.raises(VenueNotFound) as nf:
        await http.get_json("/book")
    assert "No orderbook exists" in str(nf.value)
    with pytest.raises(FatalError) as fe:
        await http.get_json("/bad")
    assert not isinstance(fe.value, VenueNotFound)
    assert fe.value.status == 400
    assert scripted.hits("/book") == 1
    assert scripted.hits("/bad") == 1


async def test_a_body_that_is_not_json_is_classified_with_an_excerpt(
    scripted: ScriptedServer, fast_settings: Settings, sleeps: Sleeps
) -> None:
    settings = fast_settings.model_copy(
        update={"http_max_retries": 1, "breaker_failure_threshold": 10}
    )
    client = VenueHttp.for_venue("v", scripted.url, settings, sleep=sleeps)
    page = "<html><body>Cloudflare: checking your browser" + " pad" * 200 + "</body></html>"
    scripted.script("/m", Reply(text=page))
    try:
        with pytest.raises(NotJsonError) as info:
            await client.get_json("/m")
    finally:
        await client.close()
    assert info.value.excerpt.startswith("<html><body>Cloudflare")
    assert len(info.value.excerpt) <= 200
    assert scripted.hits("/m") == 2  # retried once: a truncated body can be transient


async def test_breaker_opens_fails_fast_and_half_opens(
    scripted: ScriptedServer, fast_settings: Settings, sleeps: Sleeps
) -> None:
    settings = fast_settings.model_copy(update={"http_max_retries": 0})
    client = VenueHttp.for_venue("v", scripted.url, settings, sleep=sleeps)
    scripted.script("/h", Reply(503), Reply(503), Reply(503), Reply(json={"up": True}))
    try:
        for _ in range(3):
            with pytest.raises(RetriableError):
                await client.get_json("/h")
        assert client.breaker.state is BreakerState.OPEN
        with pytest.raises(BreakerOpen):
            await client.get_json("/h")
        assert scripted.hits("/h") == 3  # failing fast: no request sent
        await asyncio.sleep(settings.breaker_reset_seconds + 0.05)
        assert client.breaker.state is BreakerState.HALF_OPEN
        body, _ = await client.get_json("/h")  # the probe
        assert body == {"up": True}
        assert client.breaker.state is BreakerState.CLOSED
    finally:
        await client.close()


async def test_failed_probe_reopens_the_breaker(
    scripted: ScriptedServer, fast_settings: Settings, sleeps: Sleeps
) -> None:
    settings = fast_settings.model_copy(
        update={"http_max_retries": 0, "breaker_failure_threshold": 1}
    )
    client = VenueHttp.for_venue("v", scripted.url, settings, sleep=sleeps)
    scripted.script("/h", Reply(500))
    try:
        with pytest.raises(RetriableError):
            await client.get_json("/h")
        await asyncio.sleep(settings.breaker_reset_seconds + 0.05)
        with pytest.raises(RetriableError):
            await client.get_json("/h")  # probe fails
        assert client.breaker.state is BreakerState.OPEN
        assert client.breaker.opened_count == 2
    finally:
        await client.close()


async def test_token_buckets_spread_a_burst(
    scripted: ScriptedServer, fast_settings: Settings
) -> None:
    limits = {"*": RateLimit(1000, 1), "/limited": RateLimit(5, 0.25)}  # 20/s, burst 5
    client = VenueHttp.for_venue("v", scripted.url, fast_settings, limits=limits)
    scripted.script("/limited", Reply(json=1))
    scripted.script("/free", Reply(json=2))
    waits: list[tuple[str, float]] = []
    acquire = client.limiter.acquire

    async def recording(endpoint: str, cost: float = 1.0) -> float:
        waited = await acquire(endpoint, cost)
        waits.append((endpoint, waited))
        return waited

    client.limiter.acquire = recording  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(client.get_json("/free") for _ in range(15)))
        assert len(waits) == 15 and all(w == 0 for _, w in waits), waits  # within the burst
        started = time.monotonic()
        await asyncio.gather(*(client.get_json("/limited") for _ in range(15)))
        elapsed = time.monotonic() - started
    finally:
        await client.close()
    assert elapsed >= 0.45  # 5 from the burst, then 10 more at 20/s


async def test_rate_limit_scale_and_overrides_from_settings(
    scripted: ScriptedServer, fast_settings: Settings
) -> None:
    settings = fast_settings.model_copy(
        update={
            "rate_limit_scale": 0.5,
            "venue_rate_limits": parse_overrides("v:/o=4/1;other:*=1/1"),
        }
    )
    client = VenueHttp.for_venue("v", scripted.url, settings, limits={"/o": RateLimit(1000, 1)})
    try:
        [bucket] = client.limiter.buckets_for("/o/123")
        assert bucket.limit.requests == 2  # override 4/1, scaled by 0.5
        assert client.limiter.buckets_for("/other") == []
    finally:
        await client.close()


async def test_concurrency_cap(scripted: ScriptedServer, fast_settings: Settings) -> None:
    settings = fast_settings.model_copy(update={"http_concurrency": 2, "http_timeout_seconds": 5})
    client = VenueHttp.for_venue("v", scripted.url, settings)
    scripted.script("/c", Reply(json=0, delay=0.1))
    try:
        started = time.monotonic()
        await asyncio.gather(*(client.get_json("/c") for _ in range(6)))
        elapsed = time.monotonic() - started
    finally:
        await client.close()
    assert elapsed >= 0.3  # 6 requests, 2 at a time, 0.1 s each


async def test_credentials_are_sent_but_never_logged_or_kept(
    scripted: ScriptedServer, fast_settings: Settings, sleeps: Sleeps
) -> None:
    secret = "sk-very-secret-123"
    client = VenueHttp.for_venue(
        "opinion",
        scripted.url,
        fast_settings,
        secret_headers={"apikey": SecretStr(secret)},
        sleep=sleeps,
    )
    scripted.script("/market", Reply(503), Reply(json={"code": 0}))
    try:
        with capture_logs() as logs:
            _, raw = await client.get_json("/market")
    finally:
        await client.close()
    assert all(s.headers.get("apikey") == secret for s in scripted.seen)
    assert logs, "the retry should have been logged"
    assert secret not in repr(logs)
    assert secret not in repr(raw)


async def test_metrics_count_and_export_to_prometheus(
    scripted: ScriptedServer, http: VenueHttp
) -> None:
    scripted.script("/q", Reply(500), Reply(json={"data": "x" * 100}))
    await http.get_json("/q")
    metrics = http._shared.metrics
    stats = metrics.snapshot()[("testvenue", "/q")]
    assert stats.requests == 2
    assert stats.bytes >= 100
    assert sum(stats.latency_counts) == 2
    assert metrics.venue_totals("testvenue").error_total == 1
    registry = CollectorRegistry()
    registry.register(VenueMetricsCollector(metrics))
    text = generate_latest(registry).decode()
    assert 'predhub_venue_requests_total{endpoint="/q",venue="testvenue"} 2.0' in text
    assert 'predhub_venue_errors_total{endpoint="/q",kind="server",venue="testvenue"} 1.0' in text
    assert 'predhub_venue_request_seconds_count{endpoint="/q",venue="testvenue"} 2.0' in text


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now=1767225600.0) == 10
