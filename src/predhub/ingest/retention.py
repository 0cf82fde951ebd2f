"""Raw history is kept for BRONZE_RETENTION_DAYS; older rows are deleted by the workers.

What goes: sightings older than the cutoff; responses first fetched before
it that no remaining sighting references (a payload still being seen again
stays, with its recent sightings); order-book snapshots observed before it,
except each outcome's latest, which the API still serves as the current book.
Markets, outcomes, quotes and trades are never pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from predhub.db.queries import load

_Q = load("retention")


@dataclass(frozen=True)
class Pruned:
    """Rows deleted by one pass, per table."""

    sightings: int
    responses: int
    books: int


def _count(status: str) -> int:
    return int(status.split()[-1])


async def prune_history(conn: asyncpg.Connection | asyncpg.Pool, *, before: datetime) -> Pruned:
    """Delete raw history older than `before` (sightings first, so responses see what is left)."""
    sightings = _count(await conn.execute(_Q.prune_sightings, before))
    responses = _count(await conn.execute(_Q.prune_responses, before))
    books = _count(await conn.execute(_Q.prune_books, before))
    return Pruned(sightings=sightings, responses=responses, books=books)
