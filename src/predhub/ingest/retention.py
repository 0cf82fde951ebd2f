"""Raw history is kept for BRONZE_RETENTION_DAYS; older days are dropped by the workers.

Bronze (responses and their sightings) and order-book snapshots are
partitioned by day (`predhub.db.partitions`), so retention drops every day
that lies wholly before the cutoff: DETACH ... CONCURRENTLY, then DROP, with
no row-by-row delete. The day holding the cutoff stays whole, so rows are kept
at least BRONZE_RETENTION_DAYS and at most a day longer. A content is stored
once per day with that day's sightings, so dropping a day leaves no later
sighting without its payload; each outcome's latest book lives on in
`silver.order_book_latest`, which the API serves as the current book.
Markets, outcomes, quotes and trades are never pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from predhub.db import partitions


@dataclass(frozen=True)
class Pruned:
    """Rows dropped by one pass, per table, and the partitions they were in."""

    sightings: int
    responses: int
    books: int
    partitions: int = 0


async def prune_history(conn: asyncpg.Connection | asyncpg.Pool, *, before: datetime) -> Pruned:
    """Drop the days of raw history wholly older than `before` (sightings first)."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as held:
            return await prune_history(held, before=before)
    sightings = await partitions.drop_before(conn, partitions.SIGHTINGS, before)
    responses = await partitions.drop_before(conn, partitions.RESPONSES, before)
    books = await partitions.drop_before(conn, partitions.BOOKS, before)
    return Pruned(
        sightings=sightings.rows,
        responses=responses.rows,
        books=books.rows,
        partitions=sum(len(d.partitions) for d in (sightings, responses, books)),
    )
