"""The tests' fake clock starts where their steps cannot cross a schedule's boundary by chance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from predhub.scheduler.periodic import interval_slot
from predhub.venues.budget import minute_of

from .simtools import FakeClock, slot_start

# Wall times at the very edge of a minute, a 10-minute slot and an hour.
EDGES = [
    datetime(2026, 5, 1, 12, 59, 59, 999_000, tzinfo=UTC),
    datetime(2026, 5, 1, 12, 9, 59, tzinfo=UTC),
    datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC),
    datetime(2026, 5, 1, 23, 59, 30, tzinfo=UTC),
]


@pytest.mark.parametrize("wall", EDGES)
def test_steps_short_of_a_slot_stay_in_the_slot_the_clock_started_in(wall: datetime) -> None:
    clock = FakeClock(slot_start(wall))
    start = clock()
    assert -1 <= (wall - start).total_seconds() < 3600  # near the wall time
    clock.advance(58)  # a test's minute of small steps
    assert minute_of(clock()) == minute_of(start)
    clock.advance(600 - 1 - 1 - 58)  # to the last second of the first 10 minutes
    assert interval_slot(clock(), 600) == interval_slot(start, 600)
    clock.advance(3600 - 600)  # to the hour's last second
    assert interval_slot(clock(), 3600) == interval_slot(start, 3600)
    clock.advance(1)  # the next hour, only when the test goes there
    assert interval_slot(clock(), 3600) == interval_slot(start, 3600) + 1


def test_the_default_start_is_aligned() -> None:
    start = FakeClock()()
    assert (start.minute, start.second, start.microsecond) == (0, 1, 0)
