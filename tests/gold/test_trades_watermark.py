"""Gold reads every committed trade, whatever order the trade writers commit in.

Trade ids come from the identity's sequence when a row is written, not when its
transaction commits: a writer that took a lower id can commit after a refresh
read a higher one. These tests hold such a writer open on a second connection.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from predhub.gold.refresh import GoldConfig, refresh
from predhub.ingest.silver import insert_trades
from predhub.models import Trade
from predhub.service.testing import SeedMarket, seed_market

VENUE = "kalshi"
NOW = datetime.now(UTC)


def config() -> GoldConfig:
    return GoldConfig(venues=(VENUE,), top_n={VENUE: 5}, floors={VENUE: 0.0})


def trade(native_id: str, key: str) -> Trade:
    return Trade(
        venue=VENUE,
        market_native_id=native_id,
        trade_key=key,
        price=Decimal("0.5"),
        size=Decimal("10"),
        executed_at=NOW - timedelta(minutes=5),
        outcome_index=0,
        side="buy",
    )


async def trades_24h(pool: asyncpg.Pool, market_id: int) -> int | None:
    value = await pool.fetchval(
        "SELECT trades_24h FROM gold.market_stats WHERE market_id = $1", market_id
    )
    return None if value is None else int(value)


async def test_a_trade_that_commits_after_a_higher_id_was_read_is_counted(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        late = await seed_market(conn, SeedMarket(venue=VENUE, native_id="LATE"))
        early = await seed_market(conn, SeedMarket(venue=VENUE, native_id="EARLY"))
        await refresh(conn, config(), now=NOW)
    assert await trades_24h(pool, late) == 0

    async with pool.acquire() as writer_a, pool.acquire() as writer_b:
        tx_a = writer_a.transaction()
        await tx_a.start()
        try:
            # A takes the lower id and stays open ...
            await insert_trades(writer_a, [trade("LATE", "a1")])
            # ... while B takes a higher id and commits
            await insert_trades(writer_b, [trade("EARLY", "b1")])
            ids = await pool.fetch("SELECT id FROM silver.trades")
            assert len(ids) == 1  # A's trade is not visible yet

            async with pool.acquire() as gold:
                await refresh(gold, config(), now=NOW)
            assert await trades_24h(pool, early) == 1
            assert await trades_24h(pool, late) == 0
            watermark = await pool.fetchval(
                "SELECT watermark FROM ops.gold_refresh WHERE name = 'trades'"
            )
            pending_a = await writer_a.fetchval(
                "SELECT id FROM silver.trades WHERE trade_key = 'a1'"
            )
            assert watermark < pending_a  # held below the open writer's id
        finally:
            await tx_a.commit()

    a_id, b_id = [
        r["id"] for r in await pool.fetch("SELECT id FROM silver.trades ORDER BY trade_key")
    ]
    assert a_id < b_id  # the hole: the lower id committed last

    async with pool.acquire() as gold:
        assert late in (await refresh(gold, config(), now=NOW)).market_ids
    assert await trades_24h(pool, late) == 1
    assert await trades_24h(pool, early) == 1


async def settled(pool: asyncpg.Pool) -> None:
    """Wait for every transaction older than the pending mark to end (others share the server)."""
    for _ in range(600):
        if await pool.fetchval(
            "SELECT pg_snapshot_xmin(pg_current_snapshot()) > pending_xid"
            " FROM ops.gold_refresh WHERE name = 'trades'"
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("a transaction older than the pending mark is still running")


async def test_the_watermark_moves_up_once_the_writers_have_finished(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        market = await seed_market(conn, SeedMarket(venue=VENUE, native_id="M"))
        await insert_trades(conn, [trade("M", "t1")])
        newest = await conn.fetchval("SELECT max(id) FROM silver.trades")
        assert market in (await refresh(conn, config(), now=NOW)).market_ids
        state = await conn.fetchrow("SELECT * FROM ops.gold_refresh WHERE name = 'trades'")
        assert state["watermark"] == 0 and state["pending_id"] >= newest

        await settled(pool)
        await refresh(conn, config(), now=NOW)
        watermark = await conn.fetchval(
            "SELECT watermark FROM ops.gold_refresh WHERE name = 'trades'"
        )
        assert watermark == state["pending_id"]
        # every id up to the newest trade is settled: the next refresh reads none again
        assert market not in (await refresh(conn, config(), now=NOW)).market_ids
    assert await trades_24h(pool, market) == 1


async def test_a_trade_writer_holds_its_transaction_id_before_it_takes_trade_ids(
    pool: asyncpg.Pool,
) -> None:
    # a statement that writes no row shows it: only the statement trigger assigns the id
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO silver.trades (venue, market_id, trade_key, price, size, executed_at)"
                " SELECT 'kalshi', 1, 'k', 0.5, 1, now() WHERE false"
            )
            assert await conn.fetchval("SELECT pg_current_xact_id_if_assigned()") is not None
        async with conn.transaction():
            await conn.copy_records_to_table(
                "trades", schema_name="silver", records=[], columns=["venue"]
            )
            assert await conn.fetchval("SELECT pg_current_xact_id_if_assigned()") is not None
