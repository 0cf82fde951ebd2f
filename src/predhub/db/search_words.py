"""The search lists follow the markets from the change stream, off the markets' write path.

Search reads a word's busiest matches from `silver.search_words` (migration
0029). Until migration 0036 the markets' own triggers wrote those rows in the
writing transaction, about doubling the cost of inserting a market. Now the
worker keeps them: the reader `search` (`predhub.db.changes`) takes the
markets changed since its last read, and each one's rows are made its current
words, venue, status and volume bucket by difference, so a write that changed
none of them (a price, a volume inside its bucket) costs a comparison and
writes nothing. The snapshot is saved in the transaction that writes the rows:
a crash before its commit leaves both as they were, and the next run reads the
same markets again; reading a market twice writes nothing the second time.

Until its rows are written a new or changed market is found through the text
index whenever the lists hold fewer matches than the page's end (the `search`
query of service_catalog.sql), so a market with rare words is found at once and
one with common words enters the busiest-first lists within one upkeep round.
A deleted market's rows go with it by its delete trigger (the stream never
shows a deleted market).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from predhub.db import changes
from predhub.db.queries import load

_Q = load("search_words")

READER = "search"
BATCH = 50_000


@dataclass(slots=True)
class KeepReport:
    """What the reader did: markets read, list rows deleted and inserted."""

    markets: int = 0
    deleted: int = 0
    inserted: int = 0
    busy: bool = False  # another worker held the reader: this one read nothing


async def keep_once(conn: asyncpg.Connection, batch: int = BATCH) -> KeepReport:
    """One read of the stream (about `batch` markets at most), in one transaction."""
    report = KeepReport()
    async with conn.transaction():
        taken = await changes.take(conn, READER, batch)
        if taken is changes.BUSY:  # another worker is reading: it keeps the lists this round
            report.busy = True
            return report
        if taken is changes.START_OVER:  # every market is compared once
            await conn.execute(_Q.orphans)
            ids = list(await conn.fetchval(_Q.all_market_ids))
        else:
            ids = taken
        if ids:
            row = await conn.fetchrow(_Q.keep, ids)
            report.deleted, report.inserted = int(row["deleted"]), int(row["inserted"])
        report.markets = len(ids)
    return report


async def keep(conn: asyncpg.Connection, batch: int = BATCH) -> KeepReport:
    """Read until the stream is drained (each read its own transaction)."""
    total = KeepReport()
    while True:
        report = await keep_once(conn, batch)
        total.markets += report.markets
        total.deleted += report.deleted
        total.inserted += report.inserted
        total.busy = report.busy
        if report.markets < batch:
            return total
