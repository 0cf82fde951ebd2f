"""The market change stream: who reads which changed markets, once each, without a queue.

A market write used to insert a row per reader (`ops.gold_changes`,
`ops.match_changes`) for every new or changed market: two more heap rows and
two more index entries per market, on the path that matters most at scale.
Since migration 0030 the market row itself carries the id of the transaction
that last wrote it (`change_xid`, a 64-bit xid that never wraps, indexed), and
a reader keeps the snapshot it last read in (`ops.change_readers`).

Why a snapshot and not one number: transaction ids are handed out when a
transaction first writes, so a transaction with a lower id can commit after
one with a higher id was read. A bare "highest id seen" watermark would skip
it. A snapshot says which ids had committed (below `xmin`, and up to `xmax`
except those still running, `xip`): a market is new to the reader when its
`change_xid` had not committed in the saved snapshot and has in the current
one. Its later rewrite carries a later transaction's id, so it comes again.

Exactly once in effect: the reader saves its new snapshot in the transaction
that consumes the markets (gold's refresh, the matcher's run), so a crash or
a failed consumer rolls both back and the next read takes the same markets
again; gold and the matcher recompute a market from silver, so reading one
twice (it changed twice) costs work, never a wrong figure. The reader's row is
locked for the read, so one transaction at a time reads as a reader. Another
worker's read that finds the row locked takes nothing and returns BUSY at once,
instead of waiting while the first reads (and consumes) a large batch: its caller
does nothing this round. It has neither read nor saved anything, so the
markets the first leaves (past its limit, or its whole read if it rolls back) are
taken by the next read, and those the first took are not taken again: a later
read starts from the snapshot the first saved.

A limit on one read cuts it at a transaction boundary: every market of the
transaction that reaches the limit is taken, and the saved snapshot says
exactly that (`taken_up_to`).

If the saved snapshot is ahead of the server's (the database was restored
into another cluster whose transaction counter is behind), the read returns
START_OVER: the caller re-reads everything, and the reader starts over from now.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

import asyncpg

from predhub.db.errors import DatabaseError
from predhub.db.queries import load
from predhub.errors import Fatal

_Q = load("changes")


class Read(Enum):
    """A read of the stream that took no list of markets, and what its caller does."""

    BUSY = "busy"  # another transaction reads as this reader: nothing taken, skip the round
    START_OVER = "start over"  # the saved snapshot is ahead of the server's: read every market


BUSY: Final = Read.BUSY
START_OVER: Final = Read.START_OVER


class UnknownReader(DatabaseError, Fatal):
    """The reader has no row in ops.change_readers (a migration adds each reader's)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A `pg_snapshot`: ids below `xmin` committed, those up to `xmax` but `xip` too."""

    xmin: int
    xmax: int
    xip: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, xip = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x))

    def __str__(self) -> str:
        return f"{self.xmin}:{self.xmax}:{','.join(map(str, sorted(self.xip)))}"

    def committed(self, xid: int) -> bool:
        """Whether `xid` had committed (or aborted) in this snapshot, as pg_visible_in_snapshot."""
        return xid < self.xmin or (xid < self.xmax and xid not in self.xip)


def taken_up_to(seen: Snapshot, now: Snapshot, last: int | None) -> Snapshot:
    """The snapshot to save after taking what `now` adds to `seen`, up to xid `last`.

    Taken: what `seen` had, plus what `now` has up to `last` (all of it when
    `last` is None). `seen` is older than `now`, so what it has `now` has too.
    """
    if last is None:
        return now
    xmax = max(last + 1, seen.xmax)
    xip = {x for x in now.xip if x <= last} | {x for x in seen.xip if x > last}
    return Snapshot(min(xip, default=xmax), xmax, frozenset(xip))


async def take(conn: asyncpg.Connection, reader: str, limit: int) -> list[int] | Read:
    """Ids of the markets changed since `reader` last read, at most about `limit`.

    Call inside the consuming transaction, before it writes any market (its own
    transaction id is not in its snapshot). Returns BUSY, having taken nothing,
    when another transaction holds the reader (it is reading): the caller does
    nothing this round. Returns START_OVER when the reader must re-read
    everything (its snapshot is ahead of the server's); the reader then starts
    from now.
    """
    text = await conn.fetchval(_Q.lock_reader_or_skip, reader)
    if text is None:
        if await conn.fetchval(_Q.reader_exists, reader):
            return BUSY
        raise UnknownReader(f"no change reader named {reader!r}")
    seen = Snapshot.parse(text)
    now = Snapshot.parse(await conn.fetchval(_Q.current_snapshot))
    if now.xmax < seen.xmax:
        await conn.execute(_Q.save_reader, reader, str(now))
        return START_OVER
    rows = await conn.fetch(_Q.changed_markets, str(seen), str(now), max(1, limit))
    last = rows[0]["last"] if rows else None
    await conn.execute(_Q.save_reader, reader, str(taken_up_to(seen, now, last)))
    return [int(r["id"]) for r in rows]


async def catch_up(conn: asyncpg.Connection, reader: str) -> None:
    """Mark everything committed now as read by `reader` (it is about to read every market).

    A full read is asked for on purpose (or follows START_OVER in the same
    transaction, which holds the row already): it waits for the row, not BUSY.
    """
    await conn.fetchval(_Q.lock_reader, reader)
    await conn.execute(_Q.save_reader, reader, await conn.fetchval(_Q.current_snapshot))
