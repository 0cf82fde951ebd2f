"""What one load did, in the figures every load reports.

A `LoadSummary` is returned by every `Ingestor` call, merged across the
steps of a load (`+` or `merge`), stored as the load's stats in `ops.loads`
and printed by the CLI, so operators and the scheduler read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

COUNTERS = (
    "fetched",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "requests",
    "retries",
    "failures",
)


@dataclass
class LoadSummary:
    """Counts of one load; `seconds` is wall time, not the sum of the steps."""

    fetched: int = 0  # items parsed from the venue's responses
    inserted: int = 0  # silver rows created
    updated: int = 0  # silver rows that existed and changed
    unchanged: int = 0  # silver rows re-seen without a change (not rewritten)
    quarantined: int = 0  # items that failed validation, kept in ops.quarantine
    requests: int = 0  # venue responses received
    retries: int = 0  # venue requests retried by the HTTP layer
    failures: int = 0  # venue calls that failed for good (the load went on without them)
    seconds: float = 0.0
    markets: set[int] = field(default_factory=set, repr=False, compare=False)

    def merge(self, other: LoadSummary) -> LoadSummary:
        """Add `other`'s counts into this summary (in place) and return it."""
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        self.markets |= other.markets
        return self

    def __add__(self, other: LoadSummary) -> LoadSummary:
        out = LoadSummary()
        out.merge(self)
        out.merge(other)
        return out

    @property
    def written(self) -> int:
        """Rows inserted or updated."""
        return self.inserted + self.updated

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON values (for ops.loads.stats and the API)."""
        out: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name in COUNTERS
        }
        out["seconds"] = round(self.seconds, 3)
        return out
