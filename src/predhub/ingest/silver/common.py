"""Shared machinery of the silver writers: staging tables, column lists, write results.

Each writer COPYs its batch into a per-connection temporary table (created
once, emptied at commit) and merges it into silver with one
`INSERT ... ON CONFLICT ... DO UPDATE ... WHERE (cols) IS DISTINCT FROM
(excluded cols)`, so a row whose content did not change is not rewritten (no
new tuple, no index churn, no WAL): `merge_staged` is that tail, `tally` the
counts of its summary row. The statements live in `predhub/db/sql/`; the
column lists some of them are filled in with come from code constants
(`identifier` asserts it). Writers run inside the caller's transaction; they
never commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from predhub.db.partitions import write_with_partitions
from predhub.db.queries import load, render

_Q = load("silver_common")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_TYPE = re.compile(r"^[a-z_][a-z0-9_ ]*(\[\])?$")


@dataclass
class WriteResult:
    """What one silver write did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    unresolved: list[Any] = field(default_factory=list)  # items whose market or outcome is unknown
    markets: set[int] = field(default_factory=set)  # silver.markets ids that changed

    def merge(self, other: WriteResult) -> WriteResult:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.unresolved.extend(other.unresolved)
        self.markets |= other.markets
        return self


def dumps(value: Any) -> str:
    """JSON text for a jsonb column (cast in SQL, whatever the connection's codecs)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()


def identifier(name: str) -> str:
    """`name`, checked to be a plain lower-case SQL identifier.

    Table, column and alias names cannot be bind parameters, so the writers
    interpolate them into SQL; they come only from code constants, never from
    input, and this assertion keeps anything else out.
    """
    assert _IDENTIFIER.match(name), f"not a plain SQL identifier: {name!r}"
    return name


def column_list(columns: Iterable[str], prefix: str = "") -> str:
    """`a, b` or, with a prefix, `p.a, p.b`: the column lists of the merge statements."""
    dot = f"{identifier(prefix)}." if prefix else ""
    return ", ".join(f"{dot}{identifier(c)}" for c in columns)


@dataclass(frozen=True)
class StagingTable:
    """A per-connection temporary table a batch is COPYed into before one merge statement.

    Its name, column names and types are code constants (asserted: they are
    interpolated into the CREATE statement); the records COPYed into it are
    the only input, and they travel as data.
    """

    name: str
    columns: tuple[tuple[str, str], ...]  # (column, type)
    create_sql: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for _, kind in self.columns:
            assert _TYPE.match(kind), f"not a plain SQL type: {kind!r}"
        create = render(
            _Q.create_staging,
            table=identifier(self.name),
            columns=", ".join(f"{identifier(c)} {kind}" for c, kind in self.columns),
        )
        object.__setattr__(self, "create_sql", create)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @property
    def ddl(self) -> str:
        """The column definitions, for a table of the same shape (the benchmarks' baseline)."""
        return ", ".join(f"{c} {kind}" for c, kind in self.columns)


async def stage(
    conn: asyncpg.Connection, table: StagingTable, records: Iterable[Sequence[Any]]
) -> None:
    """Fill `table` (created on first use, emptied first) with `records`."""
    await conn.execute(table.create_sql)
    await conn.copy_records_to_table(
        table.name, records=list(records), columns=list(table.column_names)
    )


async def merge_staged(
    conn: asyncpg.Connection,
    table: StagingTable,
    records: Iterable[Sequence[Any]],
    merge_sql: str,
    *args: Any,
    partitions: Sequence[tuple[str, Iterable[datetime]]] | None = None,
) -> list[asyncpg.Record]:
    """The staging tail every writer shares: stage the batch, then merge it in one statement.

    `merge_sql` reads `table` and writes only new or changed rows (an
    `INSERT ... SELECT ... ON CONFLICT ... WHERE changed`); its rows are returned.
    When the merge writes a time-partitioned table, `partitions` names it with the
    batch's times: a row no partition holds gets its partition and the merge runs again.
    """
    await stage(conn, table, records)

    async def merge() -> list[asyncpg.Record]:
        return list(await conn.fetch(merge_sql, *args))

    if partitions is None:
        return await merge()
    return await write_with_partitions(conn, merge, lambda: partitions)


def tally(batch: Sequence[Any], rows: Sequence[asyncpg.Record]) -> WriteResult:
    """The WriteResult of a merge statement that returns one summary row.

    The row has `inserted`, optionally `updated` and `markets`, and
    `unresolved`: the staged `ord`s (positions in `batch`) whose market or
    outcome silver does not hold.
    """
    (row,) = rows
    unresolved = [batch[i] for i in row["unresolved"]]
    inserted: int = row["inserted"]
    updated: int = row.get("updated", 0)
    markets: set[int] = set(row.get("markets", ()))
    return WriteResult(
        inserted=inserted,
        updated=updated,
        unchanged=len(batch) - inserted - updated - len(unresolved),
        unresolved=unresolved,
        markets=markets,
    )


def last_wins(items: Sequence[Any], key: Any) -> list[Any]:
    """Keep the last item per key: one batch may not touch a row twice."""
    out: dict[Any, Any] = {}
    for item in items:
        out[key(item)] = item
    return list(out.values())
