"""`predhub status`: how fresh the hub is, per venue and priority, from the database alone.

Everything shown is read from PostgreSQL (markets' sync stamps, `ops.venue_usage`,
`ops.jobs`, `ops.quarantine`), so the command works from any machine and
shows the whole fleet of workers, not one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from rich.console import Console
from rich.table import Table

from predhub.db.queries import load
from predhub.scheduler import retention
from predhub.scheduler.cadence import PRIORITY_ORDER, DataKind
from predhub.settings import Settings
from predhub.venues.budget import budget_per_minute, minute_of

_Q = load("scheduler_status")

_GOLD_Q = load("gold")
_PRIORITY_RANK = {p.value: i for i, p in enumerate(PRIORITY_ORDER)}

_STALENESS = _Q.staleness
_KIND_COLUMNS = """
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM $1 - {col})) AS {kind}_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM $1 - {col})) AS {kind}_p95,
  count(*) FILTER (WHERE {col} IS NULL) AS {kind}_never"""

_USAGE = _Q.usage
_JOBS = _Q.jobs
_QUARANTINE = _Q.quarantine


@dataclass(frozen=True, slots=True)
class Staleness:
    p50: float | None
    p95: float | None
    never: int


@dataclass(slots=True)
class PriorityRow:
    venue: str
    priority: str
    markets: int
    staleness: dict[DataKind, Staleness]


@dataclass(slots=True)
class VenueRow:
    venue: str
    budget_per_minute: int
    requests_last_minute: int = 0
    requests_last_hour: int = 0
    errors_last_hour: int = 0
    retries_last_hour: int = 0
    jobs_queued: int = 0
    jobs_running: int = 0
    jobs_failed: int = 0
    quarantined: int = 0


@dataclass(frozen=True, slots=True)
class PruneRow:
    name: str
    last_run_at: datetime | None
    rows: int
    total: int


@dataclass(slots=True)
class StatusReport:
    at: datetime
    venues: dict[str, VenueRow] = field(default_factory=dict)
    priorities: list[PriorityRow] = field(default_factory=list)
    # upkeep: each prune's and each gold refresh's last run
    prunes: list[PruneRow] = field(default_factory=list)


async def collect_status(
    conn: asyncpg.Connection | asyncpg.Pool, settings: Settings, now: datetime
) -> StatusReport:
    """Read the whole status in a handful of grouped queries."""
    report = StatusReport(at=now)

    def venue(name: str) -> VenueRow:
        if name not in report.venues:
            report.venues[name] = VenueRow(name, budget_per_minute(name, settings))
        return report.venues[name]

    for name in settings.venues:
        venue(name)
    columns = ",".join(_KIND_COLUMNS.format(col=k.synced_column, kind=k.value) for k in DataKind)
    for r in await conn.fetch(_STALENESS.format(columns=columns), now):
        venue(r["venue"])
        report.priorities.append(
            PriorityRow(
                venue=r["venue"],
                priority=r["sync_priority"],
                markets=r["markets"],
                staleness={
                    k: Staleness(
                        _float(r[f"{k.value}_p50"]),
                        _float(r[f"{k.value}_p95"]),
                        r[f"{k.value}_never"],
                    )
                    for k in DataKind
                },
            )
        )
    report.priorities.sort(key=lambda p: (p.venue, _PRIORITY_RANK.get(p.priority, 9)))
    for r in await conn.fetch(_USAGE, minute_of(now)):
        row = venue(r["venue"])
        row.requests_last_minute = int(r["minute_requests"])
        row.requests_last_hour = int(r["hour_requests"])
        row.errors_last_hour = int(r["hour_errors"])
        row.retries_last_hour = int(r["hour_retries"])
    for r in await conn.fetch(_JOBS):
        row = venue(r["venue"])
        row.jobs_queued, row.jobs_running, row.jobs_failed = r["queued"], r["running"], r["failed"]
    for r in await conn.fetch(_QUARANTINE):
        venue(r["venue"]).quarantined = r["n"]
    for r in await retention.state(conn):
        report.prunes.append(
            PruneRow(r["name"], r["last_run_at"], int(r["rows_pruned"]), int(r["total_pruned"]))
        )
    for r in await conn.fetch(_GOLD_Q.refresh_state):
        if r["name"] in ("hot", "warm"):
            report.prunes.append(
                PruneRow(f"gold {r['name']}", r["last_finished_at"], int(r["last_markets"]), 0)
            )
    return report


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def human_seconds(value: float | None) -> str:
    """12s, 4m, 3.5h, 2.0d: short enough for a table cell."""
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.0f}m"
    if value < 172_800:
        return f"{value / 3600:.1f}h"
    return f"{value / 86400:.1f}d"


def render(report: StatusReport, console: Console) -> None:
    """Two tables: freshness per venue and priority, then budget, errors and queues per venue."""
    fresh = Table(title=f"freshness at {report.at:%Y-%m-%d %H:%M:%S} UTC (median / p95 age)")
    fresh.add_column("venue")
    fresh.add_column("priority")
    fresh.add_column("markets", justify="right")
    for kind in DataKind:
        fresh.add_column(kind.value, justify="right")
    for p in report.priorities:
        cells = []
        for kind in DataKind:
            s = p.staleness[kind]
            cell = f"{human_seconds(s.p50)} / {human_seconds(s.p95)}"
            if s.never:
                cell += f" ({s.never} never)"
            cells.append(cell)
        fresh.add_row(p.venue, p.priority, str(p.markets), *cells)
    console.print(fresh)

    usage = Table(title="requests, errors and work per venue")
    for name in (
        "venue",
        "requests/min (budget)",
        "requests 1h",
        "errors 1h",
        "retries 1h",
        "jobs queued",
        "running",
        "failed",
        "quarantined",
    ):
        usage.add_column(name, justify="left" if name == "venue" else "right")
    for v in sorted(report.venues.values(), key=lambda v: v.venue):
        usage.add_row(
            v.venue,
            f"{v.requests_last_minute} ({v.budget_per_minute})",
            str(v.requests_last_hour),
            str(v.errors_last_hour),
            str(v.retries_last_hour),
            str(v.jobs_queued),
            str(v.jobs_running),
            str(v.jobs_failed),
            str(v.quarantined),
        )
    console.print(usage)
    if report.prunes:
        upkeep = Table(title="upkeep: retention (rows pruned) and gold refreshes (markets)")
        for column in ("job", "last run", "rows", "rows in all"):
            upkeep.add_column(column)
        for prune in report.prunes:
            upkeep.add_row(
                prune.name,
                prune.last_run_at.isoformat(timespec="seconds") if prune.last_run_at else "never",
                str(prune.rows),
                str(prune.total),
            )
        console.print(upkeep)
