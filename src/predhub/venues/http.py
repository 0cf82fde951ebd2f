"""The one resilient HTTP layer every venue adapter talks through.

An adapter builds one `VenueHttp` per venue API host and calls
`get_json` / `post_json`, which return the decoded JSON *and* the
`RawResponse` that ingestion keeps in bronze::

    config = settings.venue(VENUE)
    http = VenueHttp.for_venue(VENUE, config.url(), settings,
                               limits={"*": RateLimit(15, 1)},
                               secret_headers={"apikey": config.secret("api_key")})
    body, raw = await http.get_json("/market/{id}", f"/market/{market_id}")
    body, raw = await http.get_json("/market", params={"page": 1, "limit": 20})
    body, raw = await http.post_json("/books", json_body=[{"token_id": t}])
    other = http.sibling(config.url("clob_url"), limits=CLOB_LIMITS)

`endpoint` is always the path *template* (it labels metrics, rate-limit
buckets, raw responses and errors); `path` is the concrete path when it
differs (ids filled in). Every call goes through, in order:

1. the circuit breaker (`BreakerOpen` at once while open; one probe when half-open),
2. the token buckets of the host (`"*"`) and of the endpoint, costing `cost` tokens,
3. the concurrency cap (`settings.http_concurrency` requests in flight per venue),
4. the request, with `settings.http_timeout_seconds`,
5. classification: 2xx with JSON is returned; 429, 5xx, 408, timeouts, dropped
   connections and non-JSON bodies are retried up to `settings.http_max_retries`
   times with exponential backoff and full jitter (base
   `settings.http_backoff_base_seconds`, capped at `settings.http_backoff_max_seconds`),
   waiting exactly `Retry-After` when the venue sends one (a Retry-After
   longer than the cap raises `RateLimited` at once so the caller reschedules);
   404 raises `VenueNotFound` and other 4xx `FatalError` without retrying.

What is raised (see `predhub.venues.errors`): `RetriableError` (and its
`RateLimited`, `NotJsonError`) after the retries are spent, `FatalError`
(and `VenueNotFound`), `BreakerOpen`. All are `predhub.venues.base.VenueError`.

Hosts of one venue (a catalog API, an order-book API, a trades API) are siblings:
they share the client (keep-alive), the circuit breaker (one per venue), the
concurrency cap and the backoff sleep, each with its own token buckets.
Budgets are scaled by `settings.rate_limit_scale` and can be overridden per
endpoint with `settings.venue_rate_limits` (see `predhub.venues.ratelimit`).
`ping(path)` answers whether the host responds at all, for health checks.
By convention an adapter exposes its (first) `VenueHttp` as `.http`, so the
contract suite can reach its breaker.

Credentials go in `secret_headers` (pydantic `SecretStr` from settings): they
are sent, never logged, never put in a `RawResponse`. A venue that signs
requests passes `signer`, called before every attempt (retries get a fresh
timestamp) with the method, the full URL and the endpoint template; the
headers it returns (none for a request it does not sign) are sent and, like
secrets, never logged or kept. Traffic is counted in
`predhub.venues.metrics.VENUE_METRICS`. Tests make backoff instant by
passing `sleep=` (any `async (seconds) -> None`).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import structlog
from pydantic import SecretStr

from predhub.models import RawResponse
from predhub.settings import Settings
from predhub.venues.breaker import CircuitBreaker
from predhub.venues.errors import (
    BreakerOpen,
    FatalError,
    NotJsonError,
    RateLimited,
    RetriableError,
    VenueNotFound,
)
from predhub.venues.metrics import VENUE_METRICS, VenueMetrics
from predhub.venues.ratelimit import RateLimit, RateLimiter, Sleep

__all__ = [
    "BreakerOpen",
    "FatalError",
    "NotJsonError",
    "RateLimit",
    "RateLimited",
    "RetriableError",
    "VenueHttp",
    "VenueNotFound",
    "excerpt",
    "utc_now",
]

log = structlog.get_logger(__name__)

EXCERPT_CHARS = 200

# Awaited before every attempt of a request made in this context, retries
# included, with the attempt's number (0 for the first). A load sets it so that
# its requests are drawn from the venue's shared budget, never past it
# (`predhub.venues.budget.drawing`), and ingestion to count its traffic.
RequestGate = Callable[[int], Awaitable[None]]
# (method, full URL, endpoint template) -> headers that authenticate this one request
RequestSigner = Callable[[str, str, str], Mapping[str, str]]
REQUEST_GATE: ContextVar[RequestGate | None] = ContextVar("venue_request_gate", default=None)
USER_AGENT = "predhub (+https://github.com/predhub/predhub)"


def utc_now() -> datetime:
    return datetime.now(UTC)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line excerpt of a body for error messages."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


class _Shared:
    """What the hosts of one venue share: client, breaker, concurrency cap, sleep."""

    def __init__(
        self,
        venue: str,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None,
        breaker: CircuitBreaker | None,
        sleep: Sleep | None,
        rng: random.Random | None,
        metrics: VenueMetrics,
    ) -> None:
        self.venue = venue
        self.settings = settings
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout_seconds),
            limits=httpx.Limits(
                max_connections=settings.http_concurrency,
                max_keepalive_connections=settings.http_concurrency,
            ),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=True,
            transport=transport,
        )
        self.breaker = breaker or CircuitBreaker(
            venue,
            threshold=settings.breaker_failure_threshold,
            reset_seconds=settings.breaker_reset_seconds,
        )
        self.semaphore = asyncio.Semaphore(settings.http_concurrency)
        self.sleep: Sleep = sleep or asyncio.sleep
        self.rng = rng or random.Random()
        self.metrics = metrics
        self.overrides = settings.venue_rate_limits.get(venue, {})


class VenueHttp:
    """Resilient JSON over HTTP for one venue API host (see the module docstring)."""

    def __init__(
        self,
        shared: _Shared,
        base_url: str,
        *,
        limits: Mapping[str, RateLimit] | None = None,
        headers: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, SecretStr | None] | None = None,
        signer: RequestSigner | None = None,
    ) -> None:
        self._shared = shared
        self._signer = signer
        self.venue = shared.venue
        self.base_url = base_url.rstrip("/")
        merged = {**(limits or {}), **shared.overrides}
        self.limiter = RateLimiter(
            merged, scale=shared.settings.rate_limit_scale, sleep=shared.sleep
        )
        self._headers = dict(headers or {})
        for name, secret in (secret_headers or {}).items():
            if secret is not None and secret.get_secret_value():
                self._headers[name] = secret.get_secret_value()

    @classmethod
    def for_venue(
        cls,
        venue: str,
        base_url: str,
        settings: Settings,
        *,
        limits: Mapping[str, RateLimit] | None = None,
        headers: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, SecretStr | None] | None = None,
        signer: RequestSigner | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        metrics: VenueMetrics = VENUE_METRICS,
    ) -> VenueHttp:
        """The first (or only) host of a venue; more hosts come from `sibling`."""
        shared = _Shared(
            venue,
            settings,
            transport=transport,
            breaker=breaker,
            sleep=sleep,
            rng=rng,
            metrics=metrics,
        )
        return cls(
            shared,
            base_url,
            limits=limits,
            headers=headers,
            secret_headers=secret_headers,
            signer=signer,
        )

    def sibling(
        self,
        base_url: str,
        *,
        limits: Mapping[str, RateLimit] | None = None,
        headers: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, SecretStr | None] | None = None,
    ) -> VenueHttp:
        """Another host of the same venue: same client, breaker, concurrency cap and sleep."""
        return VenueHttp(
            self._shared, base_url, limits=limits, headers=headers, secret_headers=secret_headers
        )

    @property
    def breaker(self) -> CircuitBreaker:
        return self._shared.breaker

    @property
    def settings(self) -> Settings:
        return self._shared.settings

    async def close(self) -> None:
        await self._shared.client.aclose()

    async def ping(self, path: str = "/", params: Mapping[str, Any] | None = None) -> bool:
        """Whether the host answers at all (any status below 500), without retries.

        Used by `predhub venues check`; it bypasses the breaker, the buckets
        and the metrics so a health check never disturbs real traffic.
        """
        try:
            url = self.base_url + path
            resp = await self._shared.client.get(
                url, params=dict(params or {}), headers=self._headers_for("GET", url, path)
            )
        except httpx.HTTPError:
            return False
        return resp.status_code < 500

    async def get_json(
        self,
        endpoint: str,
        path: str | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        cost: float = 1,
    ) -> tuple[Any, RawResponse]:
        """GET `base_url + (path or endpoint)`; returns (decoded JSON, raw response)."""
        return await self.request("GET", endpoint, path, params, cost=cost)

    async def post_json(
        self,
        endpoint: str,
        path: str | None = None,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        cost: float = 1,
    ) -> tuple[Any, RawResponse]:
        """POST a JSON body; the body is kept in `RawResponse.params["json"]`."""
        return await self.request("POST", endpoint, path, params, json_body=json_body, cost=cost)

    async def request(
        self,
        method: str,
        endpoint: str,
        path: str | None,
        params: Mapping[str, Any] | None,
        *,
        json_body: Any = None,
        cost: float = 1,
    ) -> tuple[Any, RawResponse]:
        shared = self._shared
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempts = shared.settings.http_max_retries + 1
        gate = REQUEST_GATE.get()
        for attempt in range(attempts):
            if gate is not None:
                await gate(attempt)
            try:
                return await self._attempt(method, endpoint, path, query, json_body, cost)
            except RetriableError as exc:
                if attempt + 1 >= attempts:
                    raise
                delay = self._backoff(attempt, exc.retry_after)
                if delay is None:
                    raise
                shared.metrics.retry(self.venue, endpoint)
                log.info(
                    "venue_http_retry",
                    venue=self.venue,
                    endpoint=endpoint,
                    status=exc.status,
                    error=type(exc).__name__,
                    attempt=attempt + 1,
                    delay=round(delay, 3),
                )
                await shared.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry `attempt + 1`; None means give up now."""
        cap = self._shared.settings.http_backoff_max_seconds
        if retry_after is not None:
            return retry_after if retry_after <= cap else None
        base = self._shared.settings.http_backoff_base_seconds
        return self._shared.rng.uniform(0, min(cap, base * 2**attempt))

    async def _attempt(
        self,
        method: str,
        endpoint: str,
        path: str | None,
        query: dict[str, Any],
        json_body: Any,
        cost: float,
    ) -> tuple[Any, RawResponse]:
        shared = self._shared
        metrics = shared.metrics
        try:
            probe = shared.breaker.before_call()
        except BreakerOpen:
            metrics.error(self.venue, endpoint, "breaker_open")
            raise
        try:
            return await self._exchange(method, endpoint, path, query, json_body, cost)
        finally:
            if probe:  # rate limited or cancelled: let another call probe
                shared.breaker.release_probe()

    async def _exchange(
        self,
        method: str,
        endpoint: str,
        path: str | None,
        query: dict[str, Any],
        json_body: Any,
        cost: float,
    ) -> tuple[Any, RawResponse]:
        shared = self._shared
        metrics = shared.metrics
        await self.limiter.acquire(endpoint, cost)
        url = self.base_url + (path if path is not None else endpoint)
        started = time.perf_counter()
        try:
            async with shared.semaphore:
                headers = self._headers_for(method, url, endpoint)
                resp = await shared.client.request(
                    method, url, params=query, json=json_body, headers=headers
                )
        except httpx.TimeoutException as exc:
            self._failed(endpoint, "timeout", started)
            raise RetriableError(
                f"timed out ({type(exc).__name__})", venue=self.venue, endpoint=endpoint
            ) from exc
        except httpx.TransportError as exc:
            self._failed(endpoint, "transport", started)
            raise RetriableError(
                f"connection failed ({type(exc).__name__}: {excerpt(str(exc), 80)})",
                venue=self.venue,
                endpoint=endpoint,
            ) from exc
        metrics.observe(
            self.venue, endpoint, seconds=time.perf_counter() - started, nbytes=len(resp.content)
        )
        return self._classify(resp, endpoint, query, json_body)

    def _headers_for(self, method: str, url: str, endpoint: str) -> dict[str, str]:
        """The host's headers, plus this request's signature when the venue signs it."""
        if self._signer is None:
            return self._headers
        return {**self._headers, **self._signer(method, url, endpoint)}

    def _failed(self, endpoint: str, kind: str, started: float) -> None:
        shared = self._shared
        shared.metrics.observe(
            self.venue, endpoint, seconds=time.perf_counter() - started, nbytes=0
        )
        shared.metrics.error(self.venue, endpoint, kind)
        shared.breaker.record_failure()

    def _classify(
        self, resp: httpx.Response, endpoint: str, query: dict[str, Any], json_body: Any
    ) -> tuple[Any, RawResponse]:
        shared = self._shared
        status = resp.status_code
        venue = self.venue
        if status == 429:
            shared.metrics.error(self.venue, endpoint, "rate_limited")
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            raise RateLimited(
                excerpt(resp.text),
                retry_after=retry_after,
                venue=venue,
                endpoint=endpoint,
                status=status,
            )
        if status >= 500 or status == 408:
            shared.metrics.error(self.venue, endpoint, "server")
            shared.breaker.record_failure()
            raise RetriableError(
                excerpt(resp.text) or None, venue=venue, endpoint=endpoint, status=status
            )
        if status >= 400:
            shared.metrics.error(self.venue, endpoint, "client")
            shared.breaker.record_success()  # it answered: the venue is up
            cls = VenueNotFound if status == 404 else FatalError
            raise cls(excerpt(resp.text) or None, venue=venue, endpoint=endpoint, status=status)
        try:
            body = orjson.loads(resp.content) if resp.content else None
        except orjson.JSONDecodeError:
            shared.metrics.error(self.venue, endpoint, "not_json")
            shared.breaker.record_failure()
            raise NotJsonError(
                excerpt(resp.text), venue=venue, endpoint=endpoint, status=status
            ) from None
        shared.breaker.record_success()
        params: dict[str, Any] = dict(query)
        if json_body is not None:
            params["json"] = json_body
        raw = RawResponse(
            venue=self.venue,
            endpoint=endpoint,
            params=params,
            status=status,
            fetched_at=utc_now(),
            body=body,
        )
        return body, raw
