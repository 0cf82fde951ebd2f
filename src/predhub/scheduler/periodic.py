"""The periodic loads: a static load weekly (or daily), deltas and sweeps hourly,
and (when HISTORY_LOAD_ENABLED) a few pages of the closed catalogue every
HISTORY_LOAD_INTERVAL_SECONDS.

Each schedule is cut into numbered slots (a delta slot is one
`DELTA_SCHEDULE_INTERVAL_HOURS` long; a static slot starts at
`STATIC_SCHEDULE_HOUR` on `STATIC_SCHEDULE_DAY`, or every day when the day is
`daily`). A worker that sees a new slot claims it in `ops.sync_state` with
one conditional upsert; only the worker whose upsert wins enqueues the load,
so however many workers run, each slot's load runs once.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import asyncpg

from predhub.config_values import WEEKDAYS, StaticDay
from predhub.db.queries import load
from predhub.settings import Settings

_Q = load("scheduler_worker")

DAYS = WEEKDAYS


def interval_slot(now: datetime, seconds: float) -> int:
    """The number of the `seconds`-long slot `now` falls in (slots start at the epoch)."""
    return math.floor(now.timestamp() / seconds)


def static_slot(now: datetime, day: StaticDay, hour: int) -> int:
    """Unix time of the latest scheduled static load at or before `now`.

    `day` is already parsed (`Settings.static_schedule_day`): `mon` … `sun` or `daily`.
    """
    now = now.astimezone(UTC)
    at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if day == "daily":
        if at > now:
            at -= timedelta(days=1)
        return int(at.timestamp())
    if day not in DAYS:
        raise ValueError(f"STATIC_SCHEDULE_DAY must be a weekday or 'daily', not {day!r}")
    at -= timedelta(days=(at.weekday() - DAYS.index(day)) % 7)
    if at > now:
        at -= timedelta(days=7)
    return int(at.timestamp())


def due_slots(now: datetime, settings: Settings) -> dict[str, int]:
    """The current slot of every enabled periodic load, by job kind."""
    slots: dict[str, int] = {}
    hourly = settings.delta_schedule_interval_hours * 3600
    if settings.delta_schedule_enabled:
        slots["delta_load"] = interval_slot(now, hourly)
    slots["resolution_sweep"] = interval_slot(now, hourly)
    if settings.history_load_enabled:
        slots["history_load"] = interval_slot(now, settings.history_load_interval_seconds)
    if settings.static_schedule_enabled:
        slots["static_load"] = static_slot(
            now, settings.static_schedule_day, settings.static_schedule_hour
        )
    return slots


_CLAIM_SLOT = _Q.claim_schedule_slot


async def claim_slot(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, kind: str, slot: int, now: datetime
) -> bool | None:
    """Claim `slot` of a schedule: None when already claimed, else whether it is the first ever."""
    row = await conn.fetchrow(_CLAIM_SLOT, venue, f"schedule:{kind}", str(slot), now)
    if row is None:
        return None
    return bool(row["first"])
