"""The per-word search lists (silver.search_words, migration 0029) follow the markets.

The worker keeps them from the change stream (migration 0036): after every write a
market can take (insert, a changed question, event title, status or volume bucket,
delete, truncate) and one run of the reader, the lists equal the markets' own
words; a volume change inside its bucket, and a second run, write nothing; a run
that fails before its commit loses nothing.
"""

from __future__ import annotations

import asyncpg
import pytest

from predhub.db import changes, search_words
from predhub.db.connect import connect

# What the lists must hold: one row per word of each market's search vector.
_EXPECTED = """
SELECT w.lexeme::text, m.venue, m.status, 'A' = ANY(w.weights) AS heavy,
       silver.search_bucket(m.volume_24h) AS bucket, m.id AS market_id
FROM silver.markets m, unnest(m.search_vector) w
"""
_STORED = "SELECT lexeme::text, venue, status, heavy, bucket, market_id FROM silver.search_words"


async def _in_step(conn: asyncpg.Connection) -> list[tuple[object, ...]]:
    expected = sorted(tuple(r) for r in await conn.fetch(_EXPECTED))
    stored = sorted(tuple(r) for r in await conn.fetch(_STORED))
    assert stored == expected
    return stored


async def _words(conn: asyncpg.Connection, market_id: int) -> dict[str, tuple[str, bool, int]]:
    rows = await conn.fetch(
        "SELECT lexeme, status, heavy, bucket FROM silver.search_words WHERE market_id = $1",
        market_id,
    )
    return {r["lexeme"]: (r["status"], r["heavy"], r["bucket"]) for r in rows}


async def test_the_volume_bucket_orders_volumes_and_puts_unknown_last(
    conn: asyncpg.Connection,
) -> None:
    buckets = [
        await conn.fetchval("SELECT silver.search_bucket($1::numeric)", v)
        for v in (None, -5, 0, 1, 1000, 1010, 2000, 10**9)
    ]
    assert buckets[:3] == [-1, 0, 0]  # unknown below none; no negative volume
    assert buckets == sorted(buckets) and buckets[4] < buckets[6]  # a doubling moves it
    assert buckets[4] == buckets[5]  # 1 % more stays in the bucket


async def _versions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT xmin::text, ctid::text FROM silver.search_words ORDER BY 1, 2")


async def test_the_lists_follow_every_write_of_a_market_once_the_reader_ran(
    conn: asyncpg.Connection,
) -> None:
    assert await _in_step(conn) == []
    ids = [
        r["id"]
        for r in await conn.fetch(
            "INSERT INTO silver.markets (venue, native_id, question, event_title, status,"
            " volume_24h) VALUES"
            " ('polymarket', 'a', 'Will Bitcoin reach 200k?', 'Crypto prices', 'open', 1000),"
            " ('polymarket', 'b', 'Will Ethereum flip Bitcoin?', NULL, 'open', NULL),"
            " ('kalshi', 'c', 'Fed cuts rates in March?', 'FOMC', 'closed', 5)"
            " RETURNING id"
        )
    ]
    # off the write path: the insert wrote no row of the lists
    assert await conn.fetchval("SELECT count(*) FROM silver.search_words") == 0
    kept = await search_words.keep(conn)
    assert kept.markets == 3 and kept.deleted == 0 and kept.inserted > 0
    await _in_step(conn)
    btc = await _words(conn, ids[0])
    assert btc["bitcoin"] == ("open", True, 19) and btc["crypto"] == ("open", False, 19)
    assert (await _words(conn, ids[1]))["bitcoin"] == ("open", True, -1)

    # the reader run again reads nothing and writes nothing
    versions = await _versions(conn)
    assert await search_words.keep(conn) == search_words.KeepReport()
    assert await _versions(conn) == versions

    # a volume change inside its bucket: the market is read, no row of the lists written
    await conn.execute("UPDATE silver.markets SET volume_24h = 1010 WHERE id = $1", ids[0])
    kept = await search_words.keep(conn)
    assert (kept.markets, kept.deleted, kept.inserted) == (1, 0, 0)
    assert await _versions(conn) == versions

    # across a bucket's edge, a new question, event title and status: the new words
    await conn.execute("UPDATE silver.markets SET volume_24h = 5000 WHERE id = $1", ids[0])
    await search_words.keep(conn)
    assert (await _words(conn, ids[0]))["bitcoin"] == ("open", True, 24)
    await conn.execute(
        "UPDATE silver.markets SET question = 'Will Solana reach 500?', event_title = NULL"
        " WHERE id = $1",
        ids[0],
    )
    await conn.execute("UPDATE silver.markets SET status = 'resolved' WHERE id = $1", ids[1])
    await search_words.keep(conn)
    assert set(await _words(conn, ids[0])) == {"solana", "reach", "500"}
    assert {s for s, _, _ in (await _words(conn, ids[1])).values()} == {"resolved"}
    await _in_step(conn)

    # a market changed, then deleted before the reader ran: none of its rows stay
    await conn.execute("UPDATE silver.markets SET question = 'Rates up?' WHERE id = $1", ids[2])
    await conn.execute("DELETE FROM silver.markets WHERE id = $1", ids[2])
    assert await _words(conn, ids[2]) == {}
    await search_words.keep(conn)
    assert len(await _in_step(conn)) > 0
    await conn.execute("TRUNCATE silver.markets CASCADE")
    assert await _in_step(conn) == []


async def test_a_read_that_fails_before_its_commit_loses_nothing(
    conn: asyncpg.Connection,
) -> None:
    await conn.execute(
        "INSERT INTO silver.markets (venue, native_id, question, status) VALUES"
        " ('kalshi', 'a', 'Will it rain in Ostrava?', 'open'),"
        " ('kalshi', 'b', 'Will it snow in Brno?', 'open')"
    )

    class Crash(Exception):
        pass

    # the rows are written and the snapshot saved, then the transaction fails
    with pytest.raises(Crash):
        async with conn.transaction():
            report = await search_words.keep_once(conn)
            assert report.markets == 2 and report.inserted > 0
            raise Crash
    assert await conn.fetchval("SELECT count(*) FROM silver.search_words") == 0
    kept = await search_words.keep(conn)
    assert kept.markets == 2  # the same markets again
    await _in_step(conn)


async def test_a_reader_that_starts_over_compares_every_market_and_drops_orphans(
    conn: asyncpg.Connection,
) -> None:
    await conn.execute(
        "INSERT INTO silver.markets (venue, native_id, question, status) VALUES"
        " ('kalshi', 'a', 'Will it rain in Ostrava?', 'open')"
    )
    await search_words.keep(conn)
    # a stray row of a market that does not exist, and a snapshot ahead of the server's
    await conn.execute(
        "INSERT INTO silver.search_words (lexeme, venue, status, heavy, bucket, market_id)"
        " VALUES ('ghost', 'kalshi', 'open', true, 0, 999999)"
    )
    await conn.execute(
        "UPDATE ops.change_readers SET seen = '9999999999:9999999999:' WHERE name = 'search'"
    )
    kept = await search_words.keep(conn)
    assert kept.markets == 1 and kept.inserted == 0
    await _in_step(conn)


async def test_a_worker_upkeep_round_brings_the_lists_up_to_date(
    pool: asyncpg.Pool, db_url: str
) -> None:
    from datetime import UTC, datetime

    from predhub.scheduler.maintenance import upkeep_once
    from predhub.settings import Settings

    await pool.execute(
        "INSERT INTO silver.markets (venue, native_id, question, status) VALUES"
        " ('kalshi', 'a', 'Will it rain in Ostrava?', 'open')"
    )
    assert await pool.fetchval("SELECT count(*) FROM silver.search_words") == 0
    settings = Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
    await upkeep_once(pool, settings, "w1", lambda: datetime(2026, 3, 1, tzinfo=UTC))
    async with pool.acquire() as conn:
        assert len(await _in_step(conn)) > 0


async def test_a_worker_that_finds_another_reading_skips_the_round_and_loses_nothing(
    conn: asyncpg.Connection, db_url: str
) -> None:
    """A second worker's upkeep does not wait while the first reads a large batch: it
    keeps nothing this round, and the markets the first leaves come to the next read."""

    await conn.execute(
        "INSERT INTO silver.markets (venue, native_id, question, status) VALUES"
        " ('kalshi', 'a', 'Will it rain in Ostrava?', 'open')"
    )
    first = await connect(db_url)
    try:
        await conn.execute("SET lock_timeout = '5s'")  # a wait fails instead of hanging
        tx = first.transaction()
        await tx.start()
        assert await changes.take(first, search_words.READER, 10) != []
        kept = await search_words.keep(conn)
        assert kept.busy and kept.markets == 0
        await tx.rollback()  # the first read dies: its markets are still to take
    finally:
        await first.close()
    kept = await search_words.keep(conn)
    assert not kept.busy and kept.markets == 1
    await _in_step(conn)
