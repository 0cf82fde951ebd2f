"""The narrow sync rows: made with each market, and a stamp tells the caches and gold."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from predhub.db import changes


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


async def test_a_new_market_is_queued_once_and_deleting_it_or_its_event_leaves_no_orphan(
    conn: asyncpg.Connection,
) -> None:
    # Outcomes, sync rows and a market's event carry no foreign keys (0028): the
    # insert trigger makes the sync rows, statement triggers do ON DELETE's work; gold
    # and the matcher read the new markets from the change stream (0030), not a queue.
    event_id = await conn.fetchval(
        "INSERT INTO silver.events (venue, native_id, title) VALUES ('kalshi', 'E1', 'E')"
        " RETURNING id"
    )
    ids = [
        await conn.fetchval(
            "INSERT INTO silver.markets (venue, native_id, question, event_id)"
            " VALUES ('kalshi', $1, 'Q?', $2) RETURNING id",
            native,
            event_id,
        )
        for native in ("K1", "K2")
    ]
    for market_id in ids:
        await conn.execute(
            "INSERT INTO silver.outcomes (market_id, idx, label) VALUES ($1, 0, 'Yes'), ($1, 1, 'No')",
            market_id,
        )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM silver.market_sync WHERE market_id = ANY($1::bigint[])", ids
        )
        == 2
    )
    assert await conn.fetchval("SELECT count(*) FROM ops.gold_changes") == 0
    for reader in ("gold", "match"):
        async with conn.transaction():
            taken = await changes.take(conn, reader, 100)
            assert isinstance(taken, list) and sorted(taken) == ids, reader

    await conn.execute("DELETE FROM silver.events WHERE id = $1", event_id)
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM silver.markets WHERE id = ANY($1::bigint[]) AND event_id IS NULL",
            ids,
        )
        == 2
    )

    await conn.execute("DELETE FROM silver.markets WHERE id = $1", ids[0])
    for child in ("silver.outcomes", "silver.market_sync"):
        kept = await conn.fetch(f"SELECT DISTINCT market_id FROM {child} ORDER BY 1")
        assert [r["market_id"] for r in kept] == [ids[1]], child

    await conn.execute("TRUNCATE silver.markets CASCADE")
    for child in ("silver.outcomes", "silver.market_sync"):
        assert await conn.fetchval(f"SELECT count(*) FROM {child}") == 0, child
