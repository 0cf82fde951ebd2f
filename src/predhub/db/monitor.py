"""What a person checks when the database misbehaves, in one report.

Table and index sizes with a bloat estimate (dead rows as a share of all,
from the statistics collector: cheap, and close enough to tell when a table
needs a vacuum), the slowest statements (from `pg_stat_statements` when the
extension is installed; the report says so when it is not), connections by
state, long-running transactions, replication lag and the last backup's age.
`predhub db monitor` prints it; `GET /v1/admin/db` answers it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from predhub.db.queries import load

_Q = load("monitor")
NO_STATEMENTS = (
    "pg_stat_statements is not installed in this database: add it to"
    " shared_preload_libraries and run CREATE EXTENSION pg_stat_statements"
)


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[key] = value
    return out


async def report(
    conn: asyncpg.Connection | asyncpg.Pool, *, top: int = 15, long_seconds: float = 300
) -> dict[str, Any]:
    """The whole report as plain JSON-able values."""
    now = datetime.now(UTC)
    statements: list[dict[str, Any]] = []
    note = None
    if await conn.fetchval(_Q.statements_available):
        try:
            statements = [_plain(r) for r in await conn.fetch(_Q.slow_statements, top)]
        except asyncpg.PostgresError as exc:  # installed but not preloaded
            note = f"pg_stat_statements is installed but cannot be read: {exc}"
    else:
        note = NO_STATEMENTS
    backup = await conn.fetchrow(_Q.last_backup) if await conn.fetchval(_Q.backups_known) else None
    return {
        "at": now.isoformat(),
        "database_bytes": int(await conn.fetchval(_Q.database_size)),
        "tables": [_plain(r) for r in await conn.fetch(_Q.table_sizes, top)],
        "indexes": [_plain(r) for r in await conn.fetch(_Q.index_sizes, top)],
        "slow_statements": statements,
        "slow_statements_note": note,
        "connections": [_plain(r) for r in await conn.fetch(_Q.connections)],
        "long_transactions": [
            _plain(r) for r in await conn.fetch(_Q.long_transactions, long_seconds)
        ],
        "replication": [_plain(r) for r in await conn.fetch(_Q.replication)],
        "last_backup": None
        if backup is None
        else {
            **_plain(backup),
            "age_seconds": (now - backup["finished_at"]).total_seconds(),
        },
    }
