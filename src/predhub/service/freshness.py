"""The freshness decision: serve a row from the database, or refresh it first.

A pure function of the row and the request, so the rules are tested without a
database: closed and resolved markets never need a refresh (their prices no
longer move), a row is fresh when its last successful fetch is within the
requested max age, and database-only mode never refreshes anything.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

FINAL_STATUSES = frozenset({"closed", "resolved", "voided"})


class CacheState(StrEnum):
    HIT = "hit"  # served from the database, fresh enough
    REFRESHED = "refreshed"  # fetched from the venue for this request (or a joined one)
    STALE = "stale"  # the last known data, because a refresh was impossible


class Decision(StrEnum):
    SERVE = "serve"
    REFRESH = "refresh"
    SERVE_STALE = "serve_stale"


DATABASE_ONLY_REASON = "database_only_mode: refreshes are turned off"


def age_seconds(synced_at: datetime | None, now: datetime) -> float | None:
    if synced_at is None:
        return None
    return max(0.0, (now - synced_at).total_seconds())


def decide(
    *,
    status: str,
    synced_at: datetime | None,
    now: datetime,
    max_age: float,
    database_only: bool = False,
) -> Decision:
    """What to do with one row for one request."""
    if status in FINAL_STATUSES:
        return Decision.SERVE
    age = age_seconds(synced_at, now)
    if age is not None and age <= max_age:
        return Decision.SERVE
    if database_only:
        return Decision.SERVE_STALE
    return Decision.REFRESH
