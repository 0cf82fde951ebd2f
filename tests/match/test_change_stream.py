"""The matcher reads market writes from the change stream and re-indexes text changes only."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from predhub.db.connect import connect
from predhub.match.run import MatchConfig, run
from predhub.service.testing import SeedMarket, seed_market
from predhub.venues.descriptor import venue_names

CONFIG = MatchConfig(venues=tuple(venue_names()))
END = datetime(2026, 3, 5, 20, tzinfo=UTC)
V1, V2 = venue_names()[0], venue_names()[1]


async def _seed(conn: asyncpg.Connection) -> tuple[int, int]:
    a = await seed_market(
        conn, SeedMarket(V1, "a", "Will Bitcoin be above $91,234 on March 5?", end_at=END)
    )
    b = await seed_market(
        conn, SeedMarket(V2, "b", "BTC price above 91234 on Mar 5, 2026?", end_at=END)
    )
    return a, b


async def test_new_markets_are_matched_once_and_a_volume_change_reindexes_nothing(
    conn: asyncpg.Connection,
) -> None:
    a, b = await _seed(conn)
    first = await run(conn, CONFIG, now=datetime.now(UTC))
    assert (first.markets, first.proposed) == (2, 1)
    assert await conn.fetchval("SELECT count(*) FROM gold.market_matches") == 1
    assert (await run(conn, CONFIG, now=datetime.now(UTC))).markets == 0

    await conn.execute("UPDATE silver.markets SET volume_24h = 7 WHERE id = $1", a)
    assert (await run(conn, CONFIG, now=datetime.now(UTC))).markets == 0

    await conn.execute(
        "UPDATE silver.markets SET question = 'Will Bitcoin be above $91,234 on 5 March?'"
        " WHERE id = $1",
        b,
    )
    assert (await run(conn, CONFIG, now=datetime.now(UTC))).markets == 1
    assert (await run(conn, CONFIG, now=datetime.now(UTC))).markets == 0


async def test_a_run_that_dies_before_its_commit_leaves_the_markets_to_the_next(
    conn: asyncpg.Connection,
) -> None:
    await _seed(conn)
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            assert (await run(conn, CONFIG, now=datetime.now(UTC))).markets == 2
            raise RuntimeError("the worker died")
    assert await conn.fetchval("SELECT count(*) FROM gold.match_inputs") == 0
    again = await run(conn, CONFIG, now=datetime.now(UTC))
    assert (again.markets, again.proposed) == (2, 1)


async def test_a_full_run_leaves_nothing_for_the_next_incremental_one(
    conn: asyncpg.Connection,
) -> None:
    await _seed(conn)
    assert (await run(conn, CONFIG, now=datetime.now(UTC), full=True)).markets == 2
    assert (await run(conn, CONFIG, now=datetime.now(UTC))).markets == 0


async def test_deleting_a_market_drops_what_the_matcher_kept_of_it(
    conn: asyncpg.Connection,
) -> None:
    """Its digest and its tokens go with the market (its statement, as its other children),
    and a TRUNCATE of the markets empties both."""
    a, b = await _seed(conn)
    await run(conn, CONFIG, now=datetime.now(UTC))
    kept = "SELECT array_agg(DISTINCT market_id ORDER BY market_id) FROM gold.{}"
    for table in ("match_inputs", "match_tokens"):
        assert await conn.fetchval(kept.format(table)) == [a, b], table

    await conn.execute("DELETE FROM silver.markets WHERE id = $1", a)
    for table in ("match_inputs", "match_tokens"):
        assert await conn.fetchval(kept.format(table)) == [b], table
    assert (await run(conn, CONFIG, now=datetime.now(UTC))).markets == 0

    await conn.execute("TRUNCATE silver.markets CASCADE")
    for table in ("match_inputs", "match_tokens"):
        assert await conn.fetchval(kept.format(table)) is None, table


async def test_a_run_that_finds_the_reader_held_does_nothing_and_the_next_takes_all(
    conn: asyncpg.Connection, db_url: str
) -> None:
    """Busy is not start-over: the run takes nothing (no full run, no digest), and the
    markets come to the next run."""
    await _seed(conn)
    holder = await connect(db_url)
    try:
        await conn.execute("SET lock_timeout = '5s'")  # a wait fails instead of hanging
        tx = holder.transaction()
        await tx.start()
        await holder.fetchval("SELECT 1 FROM ops.change_readers WHERE name = 'match' FOR UPDATE")
        busy = await run(conn, CONFIG, now=datetime.now(UTC))
        assert busy.busy and not busy.full and busy.markets == 0
        assert await conn.fetchval("SELECT count(*) FROM gold.match_inputs") == 0
        await tx.rollback()
    finally:
        await holder.close()
    again = await run(conn, CONFIG, now=datetime.now(UTC))
    assert (again.busy, again.full, again.markets, again.proposed) == (False, False, 2, 1)
