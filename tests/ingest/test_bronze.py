"""Bronze: one row per distinct content, sightings for repeats, retention by age."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from ingest.factories import raw
from predhub.db.connect import connect
from predhub.ingest.bronze import content_hash, store_responses
from predhub.ingest.retention import prune_history


async def test_identical_payload_is_stored_once_and_sighted(conn: asyncpg.Connection) -> None:
    first = [raw(page=1), raw(page=2)]
    async with conn.transaction():
        result = await store_responses(conn, first, load_id=7)
    assert (result.new, result.seen) == (2, 0)
    assert all(r.bronze_id is not None for r in first)

    again = [raw(page=1), raw(page=1), raw(page=3)]
    async with conn.transaction():
        result = await store_responses(conn, again, load_id=8)
    assert (result.new, result.seen) == (1, 2)
    assert again[0].bronze_id == again[1].bronze_id == first[0].bronze_id
    assert await conn.fetchval("SELECT count(*) FROM bronze.api_responses") == 3
    sightings = await conn.fetch(
        "SELECT response_id, load_id FROM bronze.response_sightings ORDER BY load_id"
    )
    assert [(s["response_id"], s["load_id"]) for s in sightings] == [
        (first[0].bronze_id, 8),
        (first[0].bronze_id, 8),
    ]
    row = await conn.fetchrow(
        "SELECT venue, endpoint, params, status, payload, load_id FROM bronze.api_responses "
        "WHERE id = $1",
        again[2].bronze_id,
    )
    assert row is not None
    assert dict(row) == {
        "venue": "polymarket",
        "endpoint": "/markets",
        "params": {"page": 3},
        "status": 200,
        "payload": {"page": {"page": 3}},
        "load_id": 8,
    }


async def test_duplicates_inside_one_batch_store_one_row(conn: asyncpg.Connection) -> None:
    batch = [raw(page=1), raw(page=1)]
    async with conn.transaction():
        result = await store_responses(conn, batch)
    assert (result.new, result.seen) == (1, 1)
    assert batch[0].bronze_id == batch[1].bronze_id
    assert await conn.fetchval("SELECT count(*) FROM bronze.response_sightings") == 1


def test_hash_covers_request_and_body() -> None:
    assert content_hash(raw(page=1)) == content_hash(raw(page=1))
    assert content_hash(raw(page=1)) != content_hash(raw(page=2))
    assert content_hash(raw(body={"a": 1})) != content_hash(raw(body={"a": 2}))
    assert content_hash(raw(body={"a": 1, "b": 2})) == content_hash(raw(body={"b": 2, "a": 1}))


async def test_non_json_and_nul_bodies_are_kept(conn: asyncpg.Connection) -> None:
    text = raw(body=None)
    text.body, text.text = None, "<html>bad gateway</html>"
    nul = raw(body={"q": "a\u0000b"})
    async with conn.transaction():
        await store_responses(conn, [text, nul])
    query = "SELECT payload, raw_text FROM bronze.api_responses WHERE id = $1"
    assert tuple(await conn.fetchrow(query, text.bronze_id)) == (None, "<html>bad gateway</html>")
    assert tuple(await conn.fetchrow(query, nul.bronze_id)) == (None, '{"q":"ab"}')


async def test_retention_prunes_old_responses_only(conn: asyncpg.Connection) -> None:
    old, new = raw(page=1), raw(page=2)
    old.fetched_at = datetime.now(UTC) - timedelta(days=40)
    new.fetched_at = datetime.now(UTC)
    async with conn.transaction():
        await store_responses(conn, [old, new])
    pruned = await prune_history(conn, before=datetime.now(UTC) - timedelta(days=30))
    assert pruned.responses == 1
    assert await conn.fetchval("SELECT array_agg(id) FROM bronze.api_responses") == [new.bronze_id]


async def test_a_concurrent_writer_of_the_same_content_leaves_one_row(
    conn: asyncpg.Connection, db_url: str
) -> None:
    """The second writer cannot see the first's uncommitted row when it looks for
    known contents; its COPY waits on the unique hash, then it takes the staged
    path and records a sighting of the first writer's row."""
    other = await connect(db_url)
    try:
        first = other.transaction()
        await first.start()
        mine = raw(page=9)
        await store_responses(other, [mine], load_id=1)

        async def second_writer() -> tuple[int, int, int | None]:
            theirs = raw(page=9)
            async with conn.transaction():
                result = await store_responses(conn, [theirs, raw(page=10)], load_id=2)
            return result.new, result.seen, theirs.bronze_id

        second = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)
        assert not second.done(), "the second writer waits for the first's unique hash"
        await first.commit()
        new, seen, bronze_id = await second
    finally:
        await other.close()
    assert (new, seen) == (1, 1)
    assert bronze_id == mine.bronze_id
    assert await conn.fetchval("SELECT count(*) FROM bronze.api_responses") == 2
    sightings = await conn.fetch("SELECT response_id, load_id FROM bronze.response_sightings")
    assert [(s["response_id"], s["load_id"]) for s in sightings] == [(mine.bronze_id, 2)]
