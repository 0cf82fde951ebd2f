"""The per-word search lists (silver.search_words, migration 0029) follow the markets.

Every write a market can take (insert, a changed question, event title, status or
volume bucket, delete, truncate) leaves the lists equal to the markets' own words;
a volume change inside its bucket writes nothing.
"""

from __future__ import annotations

import asyncpg

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


async def test_the_lists_follow_every_write_of_a_market(conn: asyncpg.Connection) -> None:
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
    await _in_step(conn)
    btc = await _words(conn, ids[0])
    assert btc["bitcoin"] == ("open", True, 19) and btc["crypto"] == ("open", False, 19)
    assert (await _words(conn, ids[1]))["bitcoin"] == ("open", True, -1)

    # a volume change inside its bucket writes no row of the lists
    versions = await conn.fetch("SELECT xmin::text, ctid::text FROM silver.search_words")
    await conn.execute("UPDATE silver.markets SET volume_24h = 1010 WHERE id = $1", ids[0])
    assert await conn.fetch("SELECT xmin::text, ctid::text FROM silver.search_words") == versions

    # across a bucket's edge, a new question, event title and status: the new words
    await conn.execute("UPDATE silver.markets SET volume_24h = 5000 WHERE id = $1", ids[0])
    assert (await _words(conn, ids[0]))["bitcoin"] == ("open", True, 24)
    await conn.execute(
        "UPDATE silver.markets SET question = 'Will Solana reach 500?', event_title = NULL"
        " WHERE id = $1",
        ids[0],
    )
    assert set(await _words(conn, ids[0])) == {"solana", "reach", "500"}
    await conn.execute("UPDATE silver.markets SET status = 'resolved' WHERE id = $1", ids[1])
    assert {s for s, _, _ in (await _words(conn, ids[1])).values()} == {"resolved"}
    await _in_step(conn)

    await conn.execute("DELETE FROM silver.markets WHERE id = $1", ids[2])
    assert await _words(conn, ids[2]) == {}
    assert len(await _in_step(conn)) > 0
    await conn.execute("TRUNCATE silver.markets CASCADE")
    assert await _in_step(conn) == []
