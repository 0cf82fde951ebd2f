"""Points in time as people type them: ISO dates and date-times, with or without a zone.

`2026-12-02` is that day's midnight in UTC, `2026-12-02T10:00` is 10:00 UTC,
`2026-12-02T10:00:00+02:00` and `...Z` keep their zone, and a plain number is
Unix seconds. Everything comes back time-zone aware, between 1970 and 9000, so
the API and the export command read times the same way and never compare a
naive value with an aware one.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"-?\d{9,12}(?:\.\d+)?")
FORMS = (
    "an ISO date (2026-12-02, UTC), date-time (2026-12-02T10:00, UTC unless zoned) or Unix seconds"
)


def parse_when(value: Any) -> datetime:
    """`value` as an aware datetime; ValueError naming the accepted forms otherwise."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, date):
        found = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        found = _from_unix(float(value))
    elif isinstance(value, str):
        found = _from_text(value.strip())
    else:
        raise ValueError(f"expected {FORMS}")
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    if not EARLIEST <= found <= LATEST:
        raise ValueError("out of range: times run from 1970-01-01 to 9000-01-01")
    return found


def _from_unix(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError("out of range: times run from 1970-01-01 to 9000-01-01") from exc


def _from_text(text: str) -> datetime:
    if _NUMBER.fullmatch(text):
        return _from_unix(float(text))
    if len(text) <= 10:
        try:
            return datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" and text else text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a time: expected {FORMS}") from None


When = Annotated[datetime, BeforeValidator(parse_when)]
