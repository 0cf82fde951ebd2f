"""The hub's status as one document: what `predhub status` prints, for the API and the page.

Per venue: requests against the workers' budget this minute and in the last
hour (with errors and retries), jobs queued, running and failed, the newest
jobs whose last attempt failed with their error, quarantined items (count and
the newest), and freshness per priority from the gold row the worker keeps
(never a percentile over the catalogue per request). Beside them: the size of
the database (measured at most every `SIZE_MAX_AGE` seconds, with when) and
each gold refresh's and prune's last run. Everything comes
from PostgreSQL, so any API process shows the whole fleet of workers; every
read is an index probe or a small table, so the page can poll it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from predhub.db.queries import load, render
from predhub.service.payload import plain
from predhub.settings import VENUE_NAMES, Settings
from predhub.venues.budget import budget_per_minute, minute_of

_SHARED = load("scheduler_status")  # the same counts `predhub status` prints


def _part(text: str) -> str:
    return text.strip().rstrip(";")


_REPORT = render(
    load("service_status").report,
    usage=_part(_SHARED.usage),
    jobs=_part(_SHARED.jobs),
    quarantine=_part(_SHARED.quarantine),
    gold=_part(load("gold").refresh_state),
    prunes=_part(load("scheduler_retention").retention_state),
)
_PRIORITY_RANK = {p: i for i, p in enumerate(("high", "normal", "low", "archived"))}
# ops.gold_refresh rows that are runs (the 'trades' row only holds a watermark)
_UPKEEP_NAMES = {"hot": "gold hot", "warm": "gold warm", "match": "matcher"}

_FRESHNESS_FIELDS = (
    "markets",
    "open_markets",
    "never_quoted",
    "newest_quote_at",
    "newest_metadata_at",
    "newest_trade_at",
    "quote_age_p50",
    "quote_age_p90",
    "measured_at",
    "refreshed_at",
)


# pg_database_size() stats every relation file: hundreds with partitions, most of the
# report's time; a size a minute old is as good on a page that polls it
SIZE_MAX_AGE = timedelta(seconds=60)


@dataclass
class SizeCache:
    """The database's size and when it was measured, kept between status reads so the
    report measures it at most once per `max_age` (each API process keeps its own)."""

    max_age: timedelta = SIZE_MAX_AGE
    size_bytes: int | None = None
    measured_at: datetime | None = None  # the database's clock, beside the report's as_of
    _taken: float | None = None  # this process's monotonic clock: immune to clock skew

    def due(self) -> bool:
        return self._taken is None or time.monotonic() - self._taken >= self.max_age.total_seconds()

    def store(self, size_bytes: int, at: datetime) -> None:
        self.size_bytes, self.measured_at, self._taken = size_bytes, at, time.monotonic()


def _venue_order(names: Iterable[str]) -> list[str]:
    known = [v for v in VENUE_NAMES if v in names]
    return known + sorted(set(names) - set(known))


def _parsed(value: Any) -> list[dict[str, Any]]:
    """A JSON column: decoded by the pool's codec, or text on a bare connection."""
    return orjson.loads(value) if isinstance(value, str | bytes) else list(value)


def _freshness(row: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(row[k]) for k in _FRESHNESS_FIELDS}


def _empty_venue(name: str, settings: Settings) -> dict[str, Any]:
    return {
        "venue": name,
        "enabled": name in settings.venues,
        "budget_per_minute": budget_per_minute(name, settings) if name in VENUE_NAMES else 0,
        "requests_last_minute": 0,
        "requests_last_hour": 0,
        "errors_last_hour": 0,
        "retries_last_hour": 0,
        "jobs": {"queued": 0, "running": 0, "failed": 0},
        "quarantine": {"count": 0, "latest": None},
        "errors": [],
        "freshness": None,
        "priorities": [],
    }


async def read_status(
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    errors_per_venue: int = 5,
    details: bool = True,
    sizes: SizeCache | None = None,
) -> dict[str, Any]:
    """The status document, read in one statement (one round trip). Without `details`
    the texts that can carry internal detail (a job's error, a quarantined item's
    reason: exception messages, venue answers, hosts) are left out. With `sizes` the
    database's size is measured only when the cached one is due (without: every time)."""
    asked = _venue_order(set(settings.venues) | set(VENUE_NAMES))
    now = datetime.now(UTC)
    sizes = sizes if sizes is not None else SizeCache()
    measure = sizes.due()
    row = await pool.fetchrow(_REPORT, minute_of(now), asked, errors_per_venue, measure)
    at = row["at"]
    if measure:
        sizes.store(int(row["size_bytes"]), at)
    usage, jobs, quarantined, freshness, latest, errors, gold, prunes = (
        _parsed(row[k])
        for k in ("usage", "jobs", "quarantine", "freshness", "latest", "errors", "gold", "prunes")
    )
    seen = {r["venue"] for rows in (usage, jobs, quarantined, freshness) for r in rows}
    names = _venue_order(set(settings.venues) | seen)
    venues = {name: _empty_venue(name, settings) for name in names}

    def venue(name: str) -> dict[str, Any]:
        if name not in venues:
            venues[name] = _empty_venue(name, settings)
        return venues[name]

    for r in usage:
        v = venue(r["venue"])
        v["requests_last_minute"] = int(r["minute_requests"])
        v["requests_last_hour"] = int(r["hour_requests"])
        v["errors_last_hour"] = int(r["hour_errors"])
        v["retries_last_hour"] = int(r["hour_retries"])
    for r in jobs:
        venue(r["venue"])["jobs"] = {
            "queued": r["queued"],
            "running": r["running"],
            "failed": r["failed"],
        }
    for r in quarantined:
        venue(r["venue"])["quarantine"]["count"] = r["n"]
    for r in latest:
        venue(r["venue"])["quarantine"]["latest"] = {
            "at": plain(r["created_at"]),
            "endpoint": r["endpoint"],
            "item_id": r["item_id"],
            "reason": r["reason"] if details else None,
        }
    for r in errors:
        venue(r["venue"])["errors"].append(
            {
                "at": plain(r["at"]),
                "job_id": r["id"],
                "kind": r["kind"],
                "status": r["status"],
                "attempts": r["attempts"],
                "error": r["error"] if details else None,
            }
        )
    for r in freshness:
        v = venue(r["venue"])
        if r["sync_priority"] == "*":
            v["freshness"] = _freshness(r)
        else:
            v["priorities"].append({"priority": r["sync_priority"], **_freshness(r)})
    for v in venues.values():
        v["priorities"].sort(key=lambda p: _PRIORITY_RANK.get(p["priority"], len(_PRIORITY_RANK)))
    upkeep = [
        {
            "name": _UPKEEP_NAMES.get(r["name"], r["name"]),
            "last_run_at": plain(r["last_finished_at"]),
            "rows": r["last_markets"],
        }
        for r in gold
        if r["name"] in _UPKEEP_NAMES
    ] + [
        {
            "name": f"prune {r['name']}",
            "last_run_at": plain(r["last_run_at"]),
            "rows": int(r["rows_pruned"]),
        }
        for r in prunes
    ]
    return {
        "as_of": plain(at),
        "database": {"size_bytes": sizes.size_bytes, "measured_at": plain(sizes.measured_at)},
        "venues": list(venues.values()),
        "upkeep": upkeep,
        "details_hidden": not details,
    }
