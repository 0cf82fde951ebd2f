"""The market change stream: each reader takes a market write once, late commits included."""

from __future__ import annotations

import random

import asyncpg
import pytest

from predhub.db import changes
from predhub.db.changes import Snapshot, taken_up_to
from predhub.db.connect import connect
from predhub.ingest.silver.catalog import upsert_markets
from predhub.models import Market, MarketStatus, Outcome


def _market(native_id: str, volume: int = 1) -> Market:
    return Market(
        venue="kalshi",
        native_id=native_id,
        question=f"Will {native_id} happen?",
        outcomes=[Outcome(0, "Yes"), Outcome(1, "No")],
        status=MarketStatus.OPEN,
        volume_total=volume,
    )


async def _insert(conn: asyncpg.Connection, native_id: str) -> int:
    market_id: int = await conn.fetchval(
        "INSERT INTO silver.markets (venue, native_id, question) VALUES ('kalshi', $1, 'Q?')"
        " RETURNING id",
        native_id,
    )
    return market_id


async def _take(conn: asyncpg.Connection, reader: str = "gold", limit: int = 1000) -> list[int]:
    async with conn.transaction():
        taken = await changes.take(conn, reader, limit)
    assert isinstance(taken, list), taken
    return sorted(taken)


async def test_a_written_market_reaches_each_reader_once_and_an_identical_rerun_none(
    conn: asyncpg.Connection,
) -> None:
    async with conn.transaction():
        written = await upsert_markets(conn, [_market("A"), _market("B")])
    ids = sorted(written.markets)
    assert len(ids) == 2
    assert await _take(conn, "gold") == ids
    assert await _take(conn, "gold") == []
    assert await _take(conn, "match") == ids  # each reader has its own place

    async with conn.transaction():  # identical: no row rewritten, nothing to read
        again = await upsert_markets(conn, [_market("A"), _market("B")])
    assert again.unchanged == 2
    assert await _take(conn, "gold") == []

    async with conn.transaction():  # a changed market comes again, once
        await upsert_markets(conn, [_market("A", volume=2), _market("B")])
    assert await _take(conn, "gold") == ids[:1]
    assert await _take(conn, "gold") == []

    # any other UPDATE of a market's row is stamped too (the safety trigger)
    await conn.execute("UPDATE silver.markets SET category = 'x' WHERE id = $1", ids[1])
    assert await _take(conn, "gold") == ids[1:]


async def test_a_transaction_that_commits_after_a_later_one_was_read_is_not_skipped(
    conn: asyncpg.Connection, db_url: str
) -> None:
    early = await connect(db_url)
    try:
        tx = early.transaction()
        await tx.start()
        first = await _insert(early, "first")  # the lower transaction id, still running
        second = await _insert(conn, "second")  # a higher one, committed
        assert await _take(conn) == [second]
        await tx.commit()
        assert await _take(conn) == [first]
        assert await _take(conn) == []
    finally:
        await early.close()


async def test_a_consumer_that_fails_or_dies_before_its_commit_loses_nothing(
    conn: asyncpg.Connection, db_url: str
) -> None:
    market_id = await _insert(conn, "A")
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            assert await changes.take(conn, "gold", 10) == [market_id]
            raise RuntimeError("the refresh failed")

    dying = await connect(db_url)
    tx = dying.transaction()
    await tx.start()
    assert await changes.take(dying, "gold", 10) == [market_id]
    pid = await dying.fetchval("SELECT pg_backend_pid()")
    # the worker's crash, waited for: its row lock goes when its backend has exited
    # (until then a read finds the reader busy and skips the round)
    assert await conn.fetchval("SELECT pg_terminate_backend($1, 60000)", pid)
    dying.terminate()

    assert await _take(conn) == [market_id]
    assert await _take(conn) == []


async def test_a_limit_cuts_between_transactions_and_the_rest_comes_next(
    conn: asyncpg.Connection,
) -> None:
    groups = []
    for t in range(3):
        async with conn.transaction():
            groups.append([await _insert(conn, f"{t}-{k}") for k in range(2)])
    # the third market is the first of the second transaction: all of it comes
    assert await _take(conn, limit=3) == groups[0] + groups[1]
    assert await _take(conn, limit=3) == groups[2]
    assert await _take(conn, limit=3) == []


async def test_a_reader_another_worker_holds_is_busy_at_once_and_loses_nothing(
    conn: asyncpg.Connection, db_url: str
) -> None:
    """The second worker does not wait for the first's read: it takes nothing this round
    (BUSY, not START_OVER), and its next read takes what the first left, once."""
    ids = [await _insert(conn, f"m{k}") for k in range(5)]
    a, b = await connect(db_url), await connect(db_url)
    try:
        # waiting for the row would fail here rather than hang the test
        await b.execute("SET lock_timeout = '5s'")
        tx_a = a.transaction()
        await tx_a.start()
        took_a = await changes.take(a, "gold", 100)
        async with b.transaction():
            assert await changes.take(b, "gold", 100) is changes.BUSY
        assert await _take(b, "match") == ids  # another reader's row is its own
        later = await _insert(conn, "later")
        await tx_a.commit()
        assert await _take(b) == [later]  # not the first's markets again

        # a first read that rolls back leaves its markets to the one that was busy
        again = await _insert(conn, "again")
        tx_a = a.transaction()
        await tx_a.start()
        assert await changes.take(a, "gold", 100) == [again]
        async with b.transaction():
            assert await changes.take(b, "gold", 100) is changes.BUSY
        await tx_a.rollback()
        assert await _take(b) == [again]
        assert await _take(a) == []
    finally:
        await a.close()
        await b.close()
    assert isinstance(took_a, list) and sorted(took_a) == ids


async def test_an_unknown_reader_is_an_error_not_a_busy_one(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        with pytest.raises(changes.UnknownReader):
            await changes.take(conn, "nobody", 10)


async def test_a_snapshot_ahead_of_the_server_starts_the_reader_over(
    conn: asyncpg.Connection,
) -> None:
    await _insert(conn, "A")
    await conn.execute(
        "UPDATE ops.change_readers SET seen = '999999999999:999999999999:' WHERE name = 'gold'"
    )
    async with conn.transaction():
        assert await changes.take(conn, "gold", 10) is changes.START_OVER
    assert await _take(conn) == []  # it starts from the server's now


def test_a_cut_read_saves_what_was_taken_and_nothing_more() -> None:
    rng = random.Random(5)
    for _ in range(500):
        xmin = rng.randrange(10, 30)
        seen = Snapshot(xmin, xmin + rng.randrange(0, 10), frozenset())
        seen = Snapshot(
            seen.xmin,
            seen.xmax,
            frozenset(x for x in range(seen.xmin, seen.xmax) if rng.random() < 0.4),
        )
        # later: some of those still running have committed, and more began
        xmax = seen.xmax + rng.randrange(0, 10)
        running = {x for x in seen.xip if rng.random() < 0.5}
        running |= {x for x in range(seen.xmax, xmax) if rng.random() < 0.4}
        now = Snapshot(min(running, default=xmax), xmax, frozenset(running))
        new = [x for x in range(0, xmax + 5) if now.committed(x) and not seen.committed(x)]
        last = rng.choice(new) if new and rng.random() < 0.8 else None
        saved = taken_up_to(seen, now, last)
        for x in range(0, xmax + 5):
            taken = seen.committed(x) or (now.committed(x) and (last is None or x <= last))
            assert saved.committed(x) == taken, (seen, now, last, x)
        assert Snapshot.parse(str(saved)) == saved


def test_snapshot_text_round_trips() -> None:
    assert str(Snapshot.parse("10:20:12,15")) == "10:20:12,15"
    assert Snapshot.parse("5:5:") == Snapshot(5, 5, frozenset())
