"""The worker's own Prometheus metrics, served on WORKER_METRICS_PORT (0: off).

Every EXPORT_SECONDS the exporter reads the same grouped status `predhub
status` shows and sets gauges from it: jobs queued, running and failed, venue
requests, errors and retries in the last hour, the share of each venue's
request budget used in the last minute, staleness (p95) per venue, priority
and data kind, quarantined items, and the age of the last backup. The
process's venue request counters (`predhub_venue_*`) are served beside them.
`ops/alerts.yml` holds the alert rules written against these names.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import asyncpg
import structlog
from prometheus_client import Gauge, start_http_server

from predhub.db.backup import last_backup_age
from predhub.scheduler.status import collect_status
from predhub.scheduler.worker import DATABASE_ERRORS
from predhub.settings import Settings

log = structlog.get_logger(__name__)

EXPORT_SECONDS = 15.0

JOBS = Gauge("predhub_worker_jobs", "Jobs by venue and state", ["venue", "state"])
REQUESTS = Gauge(
    "predhub_worker_venue_requests_last_hour", "Venue requests in the last hour", ["venue"]
)
ERRORS = Gauge(
    "predhub_worker_venue_errors_last_hour", "Failed venue requests in the last hour", ["venue"]
)
RETRIES = Gauge(
    "predhub_worker_venue_retries_last_hour", "Retried venue requests in the last hour", ["venue"]
)
BUDGET = Gauge(
    "predhub_worker_budget_use_ratio",
    "Requests in the last minute over the venue's budget per minute",
    ["venue"],
)
STALENESS = Gauge(
    "predhub_worker_staleness_p95_seconds",
    "Age of the 95th-percentile market's data",
    ["venue", "priority", "kind"],
)
NEVER_SYNCED = Gauge(
    "predhub_worker_never_synced_markets", "Markets never synced", ["venue", "priority", "kind"]
)
QUARANTINED = Gauge("predhub_worker_quarantined", "Quarantined items kept", ["venue"])
BACKUP_AGE = Gauge(
    "predhub_last_backup_age_seconds", "Seconds since the last successful backup (-1: none)"
)
EXPORTED_AT = Gauge("predhub_worker_metrics_updated_timestamp", "When the gauges were last set")
METRIC_NAMES = tuple(
    m._name
    for m in (
        JOBS,
        REQUESTS,
        ERRORS,
        RETRIES,
        BUDGET,
        STALENESS,
        NEVER_SYNCED,
        QUARANTINED,
        BACKUP_AGE,
        EXPORTED_AT,
    )
)


async def export_once(pool: asyncpg.Pool, settings: Settings) -> None:
    now = datetime.now(UTC)
    report = await collect_status(pool, settings, now)
    for name, row in report.venues.items():
        JOBS.labels(name, "queued").set(row.jobs_queued)
        JOBS.labels(name, "running").set(row.jobs_running)
        JOBS.labels(name, "failed").set(row.jobs_failed)
        REQUESTS.labels(name).set(row.requests_last_hour)
        ERRORS.labels(name).set(row.errors_last_hour)
        RETRIES.labels(name).set(row.retries_last_hour)
        BUDGET.labels(name).set(
            row.requests_last_minute / row.budget_per_minute if row.budget_per_minute else 0
        )
        QUARANTINED.labels(name).set(row.quarantined)
    for p in report.priorities:
        for kind, stale in p.staleness.items():
            if stale.p95 is not None:
                STALENESS.labels(p.venue, p.priority, kind.value).set(stale.p95)
            NEVER_SYNCED.labels(p.venue, p.priority, kind.value).set(stale.never)
    async with pool.acquire() as conn:
        age = await last_backup_age(conn, now)
    BACKUP_AGE.set(-1 if age is None else age.total_seconds())
    EXPORTED_AT.set(now.timestamp())


async def run_exporter(pool: asyncpg.Pool, settings: Settings, stop: asyncio.Event) -> None:
    """Serve the metrics and refresh them until `stop` (nothing when the port is 0)."""
    if not settings.worker_metrics_port:
        return
    server, thread = start_http_server(settings.worker_metrics_port, addr=settings.api_host)
    log.info("worker.metrics", host=settings.api_host, port=settings.worker_metrics_port)
    try:
        while not stop.is_set():
            try:
                await export_once(pool, settings)
            except DATABASE_ERRORS as exc:
                log.warning("worker.metrics_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=EXPORT_SECONDS)
    finally:
        server.shutdown()
        thread.join(timeout=5)
