"""The narrow sync rows: made with each market, and a stamp tells the caches and gold."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg


async def test_a_new_market_gets_its_sync_row_and_a_stamp_leaves_the_wide_row_alone(
    conn: asyncpg.Connection,
) -> None:
    market_id = await conn.fetchval(
        "INSERT INTO silver.markets (venue, native_id, question) VALUES ('kalshi', 'K1', 'Q?')"
        " RETURNING id"
    )
    row = await conn.fetchrow(
        "SELECT venue, sync_priority, quotes_synced_at FROM silver.market_sync"
        " WHERE market_id = $1",
        market_id,
    )
    assert row is not None and (row["venue"], row["sync_priority"]) == ("kalshi", "normal")
    assert row["quotes_synced_at"] is None
    await conn.execute("DELETE FROM ops.gold_changes")
    wide = await conn.fetchval("SELECT xmin::text FROM silver.markets WHERE id = $1", market_id)

    heard: list[str] = []
    await conn.add_listener("predhub_market_changed", lambda *args: heard.append(args[-1]))
    now = datetime.now(UTC)
    await conn.execute(
        "UPDATE silver.market_sync SET quotes_synced_at = $2 WHERE market_id = $1", market_id, now
    )
    for _ in range(100):
        if heard:
            break
        await asyncio.sleep(0.02)
    assert heard == [str(market_id)]
    assert (
        await conn.fetchval("SELECT count(*) FROM ops.gold_changes WHERE market_id = $1", market_id)
        == 1
    )
    assert (
        await conn.fetchval("SELECT xmin::text FROM silver.markets WHERE id = $1", market_id)
        == wide
    )

    heard.clear()  # a bookkeeping column alone (interest) announces nothing
    await conn.execute(
        "UPDATE silver.market_sync SET interest_at = now() WHERE market_id = $1", market_id
    )
    await asyncio.sleep(0.2)
    assert heard == []
