"""Prometheus metrics of the market data service (answers, refreshes, joins).

Metric objects are process-wide, as prometheus_client expects; they are
created here once and only incremented elsewhere.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ANSWERS = Counter(
    "predhub_service_answers_total",
    "Market answers by freshness tier and cache state (hit, refreshed, stale)",
    ["tier", "cache"],
)
REFRESHES = Counter(
    "predhub_service_refreshes_total",
    "Refresh batches run by this process, by venue and outcome",
    ["venue", "outcome"],
)
REFRESHED_MARKETS = Counter(
    "predhub_service_refreshed_markets_total",
    "Markets refreshed by this process, by venue",
    ["venue"],
)
SINGLEFLIGHT_JOINS = Counter(
    "predhub_service_singleflight_joins_total",
    "Requests that joined a refresh already running (in this process or another)",
    ["scope"],
)
REFRESH_SECONDS = Histogram(
    "predhub_service_refresh_seconds",
    "Time a refresh batch took, by venue",
    ["venue"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CACHE_EVENTS = Counter(
    "predhub_service_cache_events_total",
    "Snapshot cache lookups and invalidations",
    ["event"],
)
REFRESH_BUGS = Counter(
    "predhub_service_refresh_bugs_total",
    "Refreshes that failed on a bug (logged with its traceback), by venue",
    ["venue"],
)
