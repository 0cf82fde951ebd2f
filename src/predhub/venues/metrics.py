"""Process-wide counters of venue traffic, per venue and endpoint template.

The counters are plain Python data (`VENUE_METRICS.snapshot()` returns
`{(venue, endpoint): EndpointStats}`), so ingestion, tests and `predhub venues
check` can read them without a metrics library. The same events also feed
prometheus_client's metrics (`predhub_venue_requests_total`,
`..._errors_total` by error class, `..._retries_total`,
`..._response_bytes_total` and the `predhub_venue_request_seconds`
histogram, labelled by venue and endpoint), which /metrics exports, summed
over every API worker process. `VenueMetricsCollector` exports one
`VenueMetrics` instance to a registry of one's own (tests do).
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

_LABELS = ("venue", "endpoint")
PROM_REQUESTS = PromCounter("predhub_venue_requests", "HTTP requests sent to venues", _LABELS)
PROM_ERRORS = PromCounter(
    "predhub_venue_errors", "Failed venue requests by kind", (*_LABELS, "kind")
)
PROM_RETRIES = PromCounter("predhub_venue_retries", "Venue requests retried", _LABELS)
PROM_BYTES = PromCounter("predhub_venue_response_bytes", "Response body bytes read", _LABELS)
PROM_STREAM_RESYNCS = PromCounter(
    "predhub_stream_resyncs",
    "Live-stream resyncs over REST, by cause (gap, silent, dropped, ended)",
    ("venue", "reason"),
)
PROM_LATENCY = Histogram(
    "predhub_venue_request_seconds", "Venue request latency", _LABELS, buckets=LATENCY_BUCKETS
)


@dataclass(slots=True)
class EndpointStats:
    """Counters of one (venue, endpoint); `latency_counts[i]` counts requests <= bucket i."""

    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # by error kind
    retries: int = 0
    bytes: int = 0
    latency_sum: float = 0.0
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())

    def copy(self) -> EndpointStats:
        return EndpointStats(
            self.requests,
            Counter(self.errors),
            self.retries,
            self.bytes,
            self.latency_sum,
            list(self.latency_counts),
        )


class VenueMetrics:
    """Thread-safe counters; one instance per process (`VENUE_METRICS`).

    With `export`, every event also goes to the prometheus_client metrics.
    """

    def __init__(self, *, export: bool = False) -> None:
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, str], EndpointStats] = {}
        self.resyncs: Counter[tuple[str, str]] = Counter()  # (venue, reason) -> resyncs
        self._export = export

    def _get(self, venue: str, endpoint: str) -> EndpointStats:
        key = (venue, endpoint)
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = EndpointStats()
        return stats

    def observe(self, venue: str, endpoint: str, *, seconds: float, nbytes: int) -> None:
        """One HTTP exchange completed (whatever its status)."""
        with self._lock:
            s = self._get(venue, endpoint)
            s.requests += 1
            s.bytes += nbytes
            s.latency_sum += seconds
            s.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        if self._export:
            PROM_REQUESTS.labels(venue, endpoint).inc()
            PROM_BYTES.labels(venue, endpoint).inc(nbytes)
            PROM_LATENCY.labels(venue, endpoint).observe(seconds)

    def error(self, venue: str, endpoint: str, kind: str) -> None:
        with self._lock:
            self._get(venue, endpoint).errors[kind] += 1
        if self._export:
            PROM_ERRORS.labels(venue, endpoint, kind).inc()

    def retry(self, venue: str, endpoint: str) -> None:
        with self._lock:
            self._get(venue, endpoint).retries += 1
        if self._export:
            PROM_RETRIES.labels(venue, endpoint).inc()

    def stream_resync(self, venue: str, reason: str) -> None:
        """A live stream fell back to REST (a sequence gap, silence, a drop, its end)."""
        with self._lock:
            self.resyncs[(venue, reason)] += 1
        if self._export:
            PROM_STREAM_RESYNCS.labels(venue, reason).inc()

    def snapshot(self) -> dict[tuple[str, str], EndpointStats]:
        with self._lock:
            return {k: v.copy() for k, v in self._stats.items()}

    def venue_totals(self, venue: str) -> EndpointStats:
        """All endpoints of one venue summed (handy in tests and the CLI)."""
        total = EndpointStats()
        for (v, _), s in self.snapshot().items():
            if v != venue:
                continue
            total.requests += s.requests
            total.errors.update(s.errors)
            total.retries += s.retries
            total.bytes += s.bytes
            total.latency_sum += s.latency_sum
            total.latency_counts = [
                a + b for a, b in zip(total.latency_counts, s.latency_counts, strict=True)
            ]
        return total


VENUE_METRICS = VenueMetrics(export=True)


class VenueMetricsCollector(Collector):
    """Exports a `VenueMetrics` to prometheus_client at scrape time."""

    def __init__(self, metrics: VenueMetrics = VENUE_METRICS) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        labels = ["venue", "endpoint"]
        requests = CounterMetricFamily(
            "predhub_venue_requests", "HTTP requests sent to venues", labels=labels
        )
        errors = CounterMetricFamily(
            "predhub_venue_errors", "Failed venue requests by kind", labels=[*labels, "kind"]
        )
        retries = CounterMetricFamily(
            "predhub_venue_retries", "Venue requests retried", labels=labels
        )
        nbytes = CounterMetricFamily(
            "predhub_venue_response_bytes", "Response body bytes read", labels=labels
        )
        latency = HistogramMetricFamily(
            "predhub_venue_request_seconds", "Venue request latency", labels=labels
        )
        for (venue, endpoint), s in sorted(self.metrics.snapshot().items()):
            key = [venue, endpoint]
            requests.add_metric(key, s.requests)
            for kind, n in sorted(s.errors.items()):
                errors.add_metric([*key, kind], n)
            retries.add_metric(key, s.retries)
            nbytes.add_metric(key, s.bytes)
            cumulative, buckets = 0, []
            for bound, n in zip((*LATENCY_BUCKETS, float("inf")), s.latency_counts, strict=True):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            latency.add_metric(key, buckets, s.latency_sum)
        yield requests
        yield errors
        yield retries
        yield nbytes
        yield latency
