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

_PRUNE_SIGHTINGS = "DELETE FROM bronze.response_sightings WHERE fetched_at < $1"

_PRUNE_RESPONSES = """
DELETE FROM bronze.api_responses r
WHERE r.fetched_at < $1
  AND NOT EXISTS (SELECT 1 FROM bronze.response_sightings s WHERE s.response_id = r.id)
"""

_PRUNE_BOOKS = """
DELETE FROM silver.order_book_snapshots b
WHERE b.observed_at < $1
  AND EXISTS (
      SELECT 1 FROM silver.order_book_snapshots n
      WHERE n.outcome_id = b.outcome_id AND n.observed_at > b.observed_at
  )
"""


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
    sightings = _count(await conn.execute(_PRUNE_SIGHTINGS, before))
    responses = _count(await conn.execute(_PRUNE_RESPONSES, before))
    books = _count(await conn.execute(_PRUNE_BOOKS, before))
    return Pruned(sightings=sightings, responses=responses, books=books)
