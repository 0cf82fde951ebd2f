"""Which markets gained trades since gold last looked: a watermark that skips none.

Trade ids come from the identity's sequence when a row is written, and
transactions commit in another order: a writer that took id 10 may commit
after one that took id 11 was read. Moving the watermark to the highest id
read (as gold did) skipped id 10 for ever. The watermark now says "every id up
to here is committed, or never will be, and was read", and only moves up to
ids whose writers have all finished:

- At the start of a refresh, before it writes anything, gold reads the
  sequence's value (every id taken so far) and then takes its own transaction
  id: the pending mark. Every writer that took one of those ids already held a
  transaction id (a statement trigger on silver.trades assigns it before the
  first id is taken, migration 0035), which is therefore older than gold's.
- A later refresh reads the trades past the watermark, and in the same snapshot
  asks whether any transaction older than the mark is still running (the
  snapshot's xmin). None is: every id up to the mark is committed, or rolled
  back, and that read saw it; the watermark moves up to the mark and a new mark
  is taken. Otherwise the mark is kept (not replaced by a fresher one, which a
  steady stream of overlapping writers could keep out of reach for ever) and the
  watermark stays.

Why not the market change stream's way (a transaction id on each row and a saved
snapshot): it costs a column and an index entry per trade, the busiest table;
the row's own xmin is free but is a subtransaction's id when the writer used a
savepoint (the trade writer does), which a `pg_snapshot` cannot place. The
price of the mark instead: trades written during the refresh before are read
again (their markets recomputed once more, from silver, so the figures are the
same), and a writer that stays open holds the watermark where it is until it
ends. The sequence must hand ids out one at a time (CACHE 1, the identity's
default): a session's cached ids could be taken after the mark.

The watermark and the mark are saved in the refresh's transaction: a refresh
that fails leaves both as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from predhub.db.queries import load

Q = load("gold")


@dataclass(frozen=True, slots=True)
class Mark:
    """Ids up to `last_id` were taken by transactions older than `xid`."""

    last_id: int
    xid: int


@dataclass(frozen=True, slots=True)
class Traded:
    """The markets with trades past the watermark, and what to save once they are folded."""

    market_ids: list[int]
    watermark: int
    mark: Mark | None  # the next pending mark (None: none)
    keep: bool  # the pending mark waits on a running writer: save nothing


async def take_mark(conn: asyncpg.Connection) -> Mark | None:
    """The next pending mark; call in the refresh's transaction before it writes anything.

    None when the transaction already holds an id (the refresh runs inside a
    caller's transaction that wrote): that id may be older than a writer's.
    """
    row = await conn.fetchrow(Q.trades_mark)
    return None if row["xid"] is None else Mark(int(row["last_id"]), int(row["xid"]))


async def traded(conn: asyncpg.Connection, fresh: Mark | None) -> Traded:
    """The markets that gained trades since the watermark, and where it may move."""
    state = await conn.fetchrow(Q.trades_watermark)
    watermark = int(state["watermark"]) if state else 0
    pending = (
        Mark(int(state["pending_id"]), int(state["pending_xid"]))
        if state and state["pending_xid"] is not None
        else None
    )
    row = await conn.fetchrow(Q.traded_markets, watermark, pending.xid if pending else None)
    ids = [int(i) for i in row["market_ids"]]
    if pending is not None and row["settled"]:
        return Traded(ids, max(watermark, pending.last_id), fresh, keep=False)
    if pending is None or row["ahead"]:  # none yet, or from a server whose counter was ahead
        return Traded(ids, watermark, fresh, keep=False)
    return Traded(ids, watermark, pending, keep=True)


async def save(conn: asyncpg.Connection, result: Traded) -> None:
    """Record the watermark and the next mark, in the transaction that folded the trades."""
    if not result.keep:
        mark = result.mark
        await conn.execute(
            Q.save_watermark,
            result.watermark,
            mark.last_id if mark else None,
            mark.xid if mark else None,
        )
