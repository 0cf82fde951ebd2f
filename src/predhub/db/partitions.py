"""Time partitions of the tables that grow with history.

`silver.trades` (monthly), `silver.price_history` (weekly),
`silver.order_book_snapshots` and bronze (daily) are range-partitioned on
their time (migration 0017 says why each width). There is no default
partition, which would silently grow into the unpartitioned table the
partitioning replaced; instead:

- the worker keeps every table a few periods ahead of now (`ensure_ahead`,
  run with the retention pass);
- a write for a time no partition covers fails with "no partition of relation
  ... found for row", and `write_with_partitions` makes the partitions of the
  batch's times and runs it again, so a history backfill of years-old trades
  or an odd venue timestamp is stored, never lost;
- retention drops whole partitions older than its cutoff (`drop_before`):
  DETACH ... CONCURRENTLY when the connection is not inside a transaction
  (readers and writers of the table go on), then DROP, which frees the rows
  without a row-by-row delete, its WAL, index churn and vacuum.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import asyncpg

from predhub.db.queries import load, render

_Q = load("partitions")
T = TypeVar("T")

TRADES = "silver.trades"
PRICE_HISTORY = "silver.price_history"
BOOKS = "silver.order_book_snapshots"
RESPONSES = "bronze.api_responses"
SIGHTINGS = "bronze.response_sightings"
PARENTS = (TRADES, PRICE_HISTORY, BOOKS, RESPONSES, SIGHTINGS)

_MISSING = "no partition of relation"


def is_missing_partition(exc: BaseException) -> bool:
    """Whether a write failed because no partition holds one of its rows."""
    return isinstance(exc, asyncpg.CheckViolationError) and _MISSING in str(exc)


async def ensure(conn: asyncpg.Connection, parent: str, times: Iterable[datetime]) -> int:
    """Make the partitions of `parent` that hold `times`; how many were made."""
    assert parent in PARENTS, parent
    distinct = sorted(set(times))
    if not distinct:
        return 0
    return int(await conn.fetchval(_Q.ensure_partitions, parent, distinct) or 0)


async def ensure_ahead(conn: asyncpg.Connection | asyncpg.Pool, now: datetime) -> int:
    """Make every table's partitions from now's period to its planned periods ahead."""
    return int(await conn.fetchval(_Q.ensure_ahead, now) or 0)


async def write_with_partitions(
    conn: asyncpg.Connection,
    write: Callable[[], Awaitable[T]],
    needs: Callable[[], Sequence[tuple[str, Iterable[datetime]]]],
) -> T:
    """Run `write` in a savepoint; if a row found no partition, make them and run it again.

    `needs` names the tables the write touches with the times of its rows
    (computed only when a partition was missing). One retry suffices: after
    it every time of the batch has its partition.
    """
    try:
        async with conn.transaction():
            return await write()
    except asyncpg.CheckViolationError as exc:
        if not is_missing_partition(exc):
            raise
    for parent, times in needs():
        await ensure(conn, parent, times)
    async with conn.transaction():
        return await write()


@dataclass(frozen=True)
class Dropped:
    """Partitions dropped by one retention pass, with their rows."""

    partitions: tuple[str, ...] = ()
    rows: int = 0


async def drop_before(
    conn: asyncpg.Connection,
    parent: str,
    cutoff: datetime,
    *,
    keep: Callable[[datetime, datetime], Awaitable[bool]] | None = None,
) -> Dropped:
    """Drop every partition of `parent` whose whole range lies before `cutoff`.

    The partition holding the cutoff stays whole (its rows are kept a little
    longer than the retention, at most one period). `keep(lo, hi)` may veto a
    partition (price history waiting for its rollup). Outside a transaction the
    detach is CONCURRENTLY, so the table's readers and writers never wait for it.
    """
    assert parent in PARENTS, parent
    concurrent = not conn.is_in_transaction()
    names: list[str] = []
    rows = 0
    for part in await conn.fetch(_Q.partitions, parent):
        name = str(part["name"])
        if part["detach_pending"]:
            await conn.execute(render(_Q.detach_finalize, parent=parent, partition=name))
            await conn.execute(render(_Q.drop_table, partition=name))
            names.append(name)
            continue
        lo, hi = part["lo"], part["hi"]
        if hi is None or hi > cutoff:
            continue
        if keep is not None and await keep(lo, hi):
            continue
        rows += int(await conn.fetchval(render(_Q.count_rows, partition=name)) or 0)
        detach = _Q.detach_concurrently if concurrent else _Q.detach
        await conn.execute(render(detach, parent=parent, partition=name))
        await conn.execute(render(_Q.drop_table, partition=name))
        names.append(name)
    return Dropped(partitions=tuple(names), rows=rows)


async def bounds(conn: asyncpg.Connection | asyncpg.Pool, parent: str) -> list[asyncpg.Record]:
    """The partitions of `parent` (name, lo, hi), oldest first."""
    assert parent in PARENTS, parent
    return list(await conn.fetch(_Q.partitions, parent))
