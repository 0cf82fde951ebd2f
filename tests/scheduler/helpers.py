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
    columns = [
        "venue",
        "native_id",
        "question",
        "status",
        "volume_24h",
        "end_at",
        "interest_at",
        "resolved_at",
    ]
    values: list[Any] = [
        venue,
        native_id,
        f"Q {native_id}?",
        status,
        volume_24h,
        end_at,
        interest_at,
        resolved_at,
    ]
    for name, value in synced.items():
        columns.append(name)
        values.append(value)
    marks = ", ".join(f"${i + 1}" for i in range(len(values)))
    market_id: int = await conn.fetchval(
        f"INSERT INTO silver.markets ({', '.join(columns)}) VALUES ({marks}) RETURNING id", *values
    )
    return market_id


async def priorities(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, str]:
    rows = await conn.fetch("SELECT native_id, sync_priority FROM silver.markets")
    return {r["native_id"]: r["sync_priority"] for r in rows}
