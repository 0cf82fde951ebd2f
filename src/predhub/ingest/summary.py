"""What one load did: the figures every load reports, and the venue calls that failed.

A `LoadSummary` is returned by every `Ingestor` call, merged across the
steps of a load (`+` or `merge`), stored as the load's stats in `ops.loads`
and printed by the CLI, so operators and the scheduler read the same numbers.
A failed venue call does not stop a load; the error itself is kept in
`errors` (classified by its class and mix-in), and `raise_failures()` is the
one place a failed call becomes an exception for callers that need one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from predhub.ingest.errors import LoadFailed, load_failed
from predhub.venues.errors import VenueError

COUNTERS = (
    "fetched",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "requests",
    "retries",
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
    seconds: float = 0.0
    markets: set[int] = field(default_factory=set, repr=False, compare=False)
    # venue calls that failed for good (the load went on without them)
    errors: list[VenueError] = field(default_factory=list, repr=False, compare=False)
    venue: str = field(default="", repr=False, compare=False)

    @property
    def failures(self) -> int:
        """Venue calls that failed for good."""
        return len(self.errors)

    def failure(self) -> LoadFailed | None:
        """The load's failed calls as one exception, or None when every call answered."""
        return load_failed(self.venue, self.errors) if self.errors else None

    def raise_failures(self) -> None:
        """Raise `LoadFailed` if any venue call of the load failed."""
        failure = self.failure()
        if failure is not None:
            raise failure

    def merge(self, other: LoadSummary) -> LoadSummary:
        """Add `other`'s counts into this summary (in place) and return it."""
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        self.markets |= other.markets
        self.errors.extend(other.errors)
        self.venue = self.venue or other.venue
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
        out["failures"] = self.failures
        out["seconds"] = round(self.seconds, 3)
        return out
