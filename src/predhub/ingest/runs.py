"""ops.loads (one row per load, with its stats) and ops.sync_state (watermarks)."""

from __future__ import annotations

import asyncpg

from predhub.db.queries import load
from predhub.ingest.silver.common import dumps
from predhub.ingest.summary import LoadSummary

_Q = load("ingest")


async def begin_load(conn: asyncpg.Connection | asyncpg.Pool, venue: str, kind: str) -> int:
    load_id: int = await conn.fetchval(_Q.begin_load, venue, kind)
    return load_id


async def finish_load(
    conn: asyncpg.Connection | asyncpg.Pool,
    load_id: int,
    summary: LoadSummary,
    *,
    error: str | None = None,
) -> None:
    if error is not None:
        status = "failed"
    elif summary.failures:
        status = "partial"
    else:
        status = "done"
    await conn.execute(
        _Q.finish_load,
        load_id,
        status,
        dumps(summary.as_dict()),
        error,
    )


async def get_watermark(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, kind: str
) -> str | None:
    value: str | None = await conn.fetchval(_Q.get_watermark, venue, kind)
    return value


async def set_watermark(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, kind: str, watermark: str
) -> None:
    await conn.execute(
        _Q.set_watermark,
        venue,
        kind,
        watermark,
    )
