"""Slots of the periodic loads, and claiming a slot once across workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
from pydantic import ValidationError

from predhub.scheduler.periodic import claim_slot, due_slots, interval_slot, static_slot
from predhub.settings import Settings


def test_weekly_static_slot_is_the_last_sunday_2am() -> None:
    wed = datetime(2026, 4, 29, 10, 0, tzinfo=UTC)  # a Wednesday
    assert datetime.fromtimestamp(static_slot(wed, "sun", 2), UTC) == datetime(
        2026, 4, 26, 2, tzinfo=UTC
    )
    sun_early = datetime(2026, 4, 26, 1, 0, tzinfo=UTC)
    assert datetime.fromtimestamp(static_slot(sun_early, "sun", 2), UTC) == datetime(
        2026, 4, 19, 2, tzinfo=UTC
    )


def test_daily_static_slot() -> None:
    at = datetime(2026, 4, 29, 1, 0, tzinfo=UTC)
    assert datetime.fromtimestamp(static_slot(at, "daily", 2), UTC) == datetime(
        2026, 4, 28, 2, tzinfo=UTC
    )


def test_static_day_is_parsed_when_settings_load() -> None:
    assert Settings(static_schedule_day=" Sunday ").static_schedule_day == "sun"
    assert Settings(static_schedule_day="*").static_schedule_day == "daily"
    with pytest.raises(ValidationError, match="weekday"):
        Settings(static_schedule_day="someday")


def test_due_slots_follow_settings() -> None:
    at = datetime(2026, 4, 29, 10, 30, tzinfo=UTC)
    slots = due_slots(at, Settings(delta_schedule_enabled=False))
    assert "delta_load" not in slots and "static_load" in slots
    assert interval_slot(at, 3600) == interval_slot(datetime(2026, 4, 29, 10, 59, tzinfo=UTC), 3600)


async def test_a_slot_is_claimed_once_by_concurrent_workers(pool: asyncpg.Pool) -> None:
    now = datetime(2026, 4, 29, 10, 30, tzinfo=UTC)
    results = await asyncio.gather(
        *(claim_slot(pool, "kalshi", "delta_load", 100, now) for _ in range(8))
    )
    assert results.count(True) == 1 and results.count(None) == 7
    assert await claim_slot(pool, "kalshi", "delta_load", 100, now) is None
    assert (
        await claim_slot(pool, "kalshi", "delta_load", 101, now) is False
    )  # next slot, not the first
