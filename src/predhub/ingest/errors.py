"""Errors of ingestion: a load whose venue calls failed.

Ingestion goes on past a failed venue call (the rest of the load is still
worth writing) and keeps the error itself in the load's `LoadSummary.errors`;
`LoadSummary.raise_failures()` turns them into this one exception for callers
that must fail when any call did (a job, an API refresh).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from predhub.errors import Fatal, PredhubError, Retriable
from predhub.venues.errors import BudgetSpent, VenueError


class LoadFailed(PredhubError, abstract=True):
    """Venue calls of a load failed."""

    def __init__(self, venue: str, errors: Sequence[VenueError]) -> None:
        self.venue = venue
        self.errors = list(errors)
        super().__init__(describe_failures(venue, self.errors))


class LoadFailedRetriable(LoadFailed, Retriable):
    """Venue calls of a load failed transiently; try again later."""


class LoadFailedFatal(LoadFailed, Fatal):
    """Venue calls of a load failed in a way retrying will not mend."""


def describe_failures(venue: str, errors: Sequence[VenueError]) -> str:
    """One line for a stale reason or a job's error.

    A refused budget speaks for itself (its message says which budget); other
    failures are counted by kind.
    """
    for error in errors:
        if isinstance(error, BudgetSpent):
            return str(error)
    kinds = Counter(type(e).__name__ for e in errors)
    how = ", ".join(f"{kind} x{n}" for kind, n in sorted(kinds.items())) or "request failed"
    first = str(errors[0]) if errors else ""
    return f"{venue} did not answer ({how})" + (f": {first}" if first else "")


def load_failed(venue: str, errors: Sequence[VenueError]) -> LoadFailed:
    """The failure of a load: retriable unless every error is one retrying cannot mend."""
    if errors and all(isinstance(e, Fatal) for e in errors):
        return LoadFailedFatal(venue, errors)
    return LoadFailedRetriable(venue, errors)
