"""ops.loads (one row per load, with its stats) and ops.sync_state (watermarks)."""

from __future__ import annotations

import asyncpg

from predhub.ingest.silver.common import dumps
from predhub.ingest.summary import LoadSummary


async def begin_load(conn: asyncpg.Connection | asyncpg.Pool, venue: str, kind: str) -> int:
    load_id: int = await conn.fetchval(
        "INSERT INTO ops.loads (venue, kind) VALUES ($1, $2) RETURNING id", venue, kind
    )
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
        "UPDATE ops.loads SET finished_at = now(), status = $2, stats = $3::text::jsonb, "
        "error = $4 WHERE id = $1",
        load_id,
        status,
        dumps(summary.as_dict()),
        error,
    )


async def get_watermark(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, kind: str
) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT watermark FROM ops.sync_state WHERE venue = $1 AND kind = $2", venue, kind
    )
    return value


async def set_watermark(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, kind: str, watermark: str
) -> None:
    await conn.execute(
        "INSERT INTO ops.sync_state (venue, kind, watermark) VALUES ($1, $2, $3) "
        "ON CONFLICT (venue, kind) DO UPDATE SET watermark = excluded.watermark, updated_at = now()",
        venue,
        kind,
        watermark,
    )
