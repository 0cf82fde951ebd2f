"""HTTP metrics: requests and latency per route template, as a pure ASGI middleware.

A pure ASGI middleware (not Starlette's BaseHTTPMiddleware) costs a few
microseconds per request, which matters on the cached read path. Labels use
the route's template (`/v1/markets/{market_id}/price`), never the raw path,
so cardinality stays bounded.

With several worker processes (`predhub serve --workers N`), each process
writes its metrics to files in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's
multiprocess mode, which `serve` turns on for N > 1), and a scrape, whichever
process answers it, reports the sum over all of them.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "predhub_http_requests_total",
    "HTTP requests by route and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "predhub_http_request_seconds",
    "HTTP request latency by route",
    ["route", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def exposition() -> bytes:
    """The Prometheus text of every metric, summed over the worker processes if several."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_exited() -> None:
    """Drop this process's live gauges from the shared files (a stopping worker)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Label lookups cost more than the increments; keep the children per label set.
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            counter = self._counters.get((template, method, status))
            if counter is None:
                counter = REQUESTS.labels(template, method, str(status))
                self._counters[(template, method, status)] = counter
            timer = self._timers.get((template, method))
            if timer is None:
                timer = self._timers[(template, method)] = LATENCY.labels(template, method)
            counter.inc()
            timer.observe(time.perf_counter() - started)
