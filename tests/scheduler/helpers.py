"""Markets written straight into silver for the engine's database tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def add_market(
    conn: asyncpg.Connection | asyncpg.Pool,
    native_id: str,
    *,
    venue: str = "kalshi",
    status: str = "open",
    volume_24h: float | None = 0,
    end_at: datetime | None = None,
    interest_at: datetime | None = None,
    resolved_at: datetime | None = None,
    **synced: Any,
) -> int:
    columns = ["venue", "native_id", "question", "status", "volume_24h", "end_at", "resolved_at"]
    values: list[Any] = [
        venue,
        native_id,
        f"Q {native_id}?",
        status,
        volume_24h,
        end_at,
        resolved_at,
    ]
    sync: dict[str, Any] = {"interest_at": interest_at}
    for name, value in synced.items():
        # Sync state (stamps, watermark, priority) lives in the market's narrow sync row.
        if name.endswith("_synced_at") or name in ("sync_priority", "trades_watermark"):
            sync[name] = value
        else:
            columns.append(name)
            values.append(value)
    marks = ", ".join(f"${i + 1}" for i in range(len(values)))
    market_id: int = await conn.fetchval(
        f"INSERT INTO silver.markets ({', '.join(columns)}) VALUES ({marks}) RETURNING id", *values
    )
    sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(sync))
    await conn.execute(
        f"UPDATE silver.market_sync SET {sets} WHERE market_id = $1", market_id, *sync.values()
    )
    return market_id


async def priorities(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT m.native_id, s.sync_priority FROM silver.markets m"
        " JOIN silver.market_sync s ON s.market_id = m.id"
    )
    return {r["native_id"]: r["sync_priority"] for r in rows}
