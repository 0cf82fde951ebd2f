"""Shared machinery of the silver writers: temporary tables and write results.

Each writer COPYs its batch into a per-connection temporary table (created
once, emptied at commit) and merges it into silver with one
`INSERT ... ON CONFLICT ... DO UPDATE ... WHERE (cols) IS DISTINCT FROM
(excluded cols)`, so a row whose content did not change is not rewritten (no
new tuple, no index churn, no WAL). Writers run inside the caller's
transaction; they never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson


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


async def copy_in(
    conn: asyncpg.Connection,
    table: str,
    ddl: str,
    columns: Sequence[str],
    records: Iterable[Sequence[Any]],
) -> None:
    """Fill temporary table `table` (created from `ddl` on first use) with `records`."""
    await conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {table} ({ddl}) ON COMMIT DELETE ROWS;TRUNCATE {table}"
    )
    await conn.copy_records_to_table(table, records=list(records), columns=list(columns))


def last_wins(items: Sequence[Any], key: Any) -> list[Any]:
    """Keep the last item per key: one batch may not touch a row twice."""
    out: dict[Any, Any] = {}
    for item in items:
        out[key(item)] = item
    return list(out.values())
