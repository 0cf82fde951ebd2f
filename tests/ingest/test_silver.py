"""Silver writers on hand-built model objects, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from ingest.factories import T0, market, quote, raw, trade
from predhub.db.connect import connect
from predhub.ingest.store import Batch, write_batch
from predhub.models import Market, Outcome


async def _stats(conn: asyncpg.Connection, table: str) -> tuple[int, int]:
    """(n_tup_ins, n_tup_upd) of a silver table, as this backend's own counters see them."""
    row = await conn.fetchrow(
        "SELECT n_tup_ins + coalesce(x.ins, 0) AS ins, n_tup_upd + coalesce(x.upd, 0) AS upd "
        "FROM pg_stat_all_tables s "
        "LEFT JOIN LATERAL (SELECT n_tup_ins AS ins, n_tup_upd AS upd FROM pg_stat_xact_all_tables "
        "  WHERE relid = s.relid) x ON true "
        "WHERE s.schemaname = 'silver' AND s.relname = $1",
        table,
    )
    assert row is not None
    return row["ins"], row["upd"]


async def _write(conn: asyncpg.Connection, batch: Batch) -> tuple[int, int, int, int]:
    async with conn.transaction():
        s = await write_batch(conn, batch, fetched_at=T0)
    return s.inserted, s.updated, s.unchanged, s.quarantined


async def test_market_upsert_counts_and_unchanged_rows_are_not_rewritten(
    conn: asyncpg.Connection,
) -> None:
    page = raw(page=1)
    markets = [market(i, page=page) for i in range(20)]
    assert await _write(conn, Batch(raw=[page], markets=markets)) == (20, 0, 0, 0)
    assert await conn.fetchval("SELECT count(*) FROM silver.outcomes") == 40
    assert await conn.fetchval("SELECT count(*) FROM silver.events") == 2
    xmins = await conn.fetch("SELECT id, xmin::text FROM silver.markets ORDER BY id")
    await conn.execute("SELECT pg_stat_force_next_flush()")
    before = {t: await _stats(conn, t) for t in ("markets", "outcomes", "events")}

    again = [market(i, page=raw(page=1)) for i in range(20)]
    assert await _write(conn, Batch(markets=again)) == (0, 0, 20, 0)
    await conn.execute("SELECT pg_stat_force_next_flush()")
    after = {t: await _stats(conn, t) for t in ("markets", "outcomes", "events")}
    assert after == before, "an unchanged batch rewrote rows"
    assert await conn.fetch("SELECT id, xmin::text FROM silver.markets ORDER BY id") == xmins

    changed = [market(i, page=raw(page=2)) for i in range(20)]
    changed[3] = market(3, question="Renamed?", page=changed[3].raw)
    changed[5].outcomes[1] = Outcome(1, "Nope", token_id="t5n")
    assert await _write(conn, Batch(markets=changed)) == (0, 2, 18, 0)
    row = await conn.fetchrow(
        "SELECT m.question, m.event_id, m.event_title, m.bronze_id, e.native_id "
        "FROM silver.markets m JOIN silver.events e ON e.id = m.event_id WHERE m.native_id = 'm3'"
    )
    assert row is not None
    assert (row["question"], row["native_id"], row["event_title"]) == ("Renamed?", "e0", "Event 0")
    assert row["bronze_id"] == changed[3].raw.bronze_id
    assert (
        await conn.fetchval(
            "SELECT o.label FROM silver.outcomes o JOIN silver.markets m ON m.id = o.market_id "
            "WHERE m.native_id = 'm5' AND o.idx = 1"
        )
        == "Nope"
    )


async def test_quarantine_keeps_the_rest_of_the_page(conn: asyncpg.Connection) -> None:
    page = raw(page=1)
    markets = [market(i, page=page) for i in range(5)]
    markets[2] = Market(
        venue="polymarket",
        native_id="m2",
        question="Broken?",
        outcomes=[Outcome(0, "Yes", price=Decimal("1.7"))],
        raw=page,
    )
    markets[4].question = ""
    assert await _write(conn, Batch(raw=[page], markets=markets)) == (3, 0, 0, 2)
    rows = await conn.fetch(
        "SELECT item_id, reason, bronze_id, item->>'question' AS q FROM ops.quarantine ORDER BY item_id"
    )
    assert [(r["item_id"], r["bronze_id"]) for r in rows] == [
        ("m2", page.bronze_id),
        ("m4", page.bronze_id),
    ]
    assert "not a probability" in rows[0]["reason"] and rows[0]["q"] == "Broken?"
    assert rows[1]["reason"] == "question is missing"
    native = await conn.fetch("SELECT native_id FROM silver.markets ORDER BY native_id")
    assert [r["native_id"] for r in native] == ["m0", "m1", "m3"]


async def test_quotes_for_unknown_markets_are_quarantined(conn: asyncpg.Connection) -> None:
    await _write(conn, Batch(markets=[market(1)]))
    result = await _write(conn, Batch(quotes=[quote(1, 0, "0.4"), quote(9, 0, "0.4")]))
    assert result == (1, 0, 0, 1)
    assert await conn.fetchval("SELECT item_id FROM ops.quarantine") == "m9"


async def _race(
    conn: asyncpg.Connection, db_url: str, first: Batch, second: Batch
) -> tuple[int, int, int, int]:
    """Write `second` while another connection holds `first` uncommitted; its counts.

    The second writer cannot see the first's rows, so its COPY meets their
    unique keys and waits; once the first commits, it takes the staged path.
    """
    other = await connect(db_url)
    try:
        held = other.transaction()
        await held.start()
        await write_batch(other, first, fetched_at=T0)
        waiting = asyncio.create_task(_write(conn, second))
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the second writer waits for the first's unique keys"
        await held.commit()
        return await waiting
    finally:
        await other.close()


async def _listen(db_url: str, channel: str) -> tuple[asyncpg.Connection, list[str]]:
    listener = await asyncpg.connect(db_url)
    got: list[str] = []
    await listener.add_listener(channel, lambda *args: got.append(args[3]))
    return listener, got


async def test_quote_changes_notify_once_per_market(conn: asyncpg.Connection, db_url: str) -> None:
    await _write(conn, Batch(markets=[market(1), market(2)]))
    ids = {
        r["native_id"]: r["id"]
        for r in await conn.fetch("SELECT native_id, id FROM silver.markets")
    }
    listener, got = await _listen(db_url, "predhub_quotes")
    try:
        first = [quote(1, 0, "0.4"), quote(1, 1, "0.6"), quote(2, 0, "0.3")]
        assert await _write(conn, Batch(quotes=first)) == (3, 0, 0, 0)
        await asyncio.sleep(0.2)
        assert sorted(got) == sorted([str(ids["m1"]), str(ids["m2"])])

        got.clear()
        assert await _write(conn, Batch(quotes=[quote(1, 0, "0.4"), quote(2, 0, "0.3")])) == (
            0,
            0,
            2,
            0,
        )
        await asyncio.sleep(0.2)
        assert got == [], "unchanged quotes must not notify"

        assert await _write(conn, Batch(quotes=[quote(1, 0, "0.4"), quote(2, 0, "0.35")])) == (
            0,
            1,
            1,
            0,
        )
        await asyncio.sleep(0.2)
        assert got == [str(ids["m2"])]
        price = await conn.fetchval(
            "SELECT q.price FROM silver.quotes q JOIN silver.outcomes o ON o.id = q.outcome_id "
            "WHERE q.market_id = $1 AND o.idx = 0",
            ids["m2"],
        )
        assert price == Decimal("0.35")
    finally:
        await listener.close()


async def test_partial_quotes_keep_prices_they_lack(conn: asyncpg.Connection) -> None:
    await _write(conn, Batch(markets=[market(1)]))
    await _write(conn, Batch(quotes=[quote(1, 0, "0.4")]))
    only_last = quote(1, 0, "0.4")
    only_last.best_bid = only_last.best_ask = only_last.price = None
    only_last.last = Decimal("0.41")
    assert await _write(conn, Batch(partial_quotes=[only_last])) == (0, 1, 0, 0)
    row = await conn.fetchrow("SELECT best_bid, best_ask, last, price FROM silver.quotes")
    assert row is not None
    assert tuple(row) == (Decimal("0.39"), Decimal("0.41"), Decimal("0.41"), Decimal("0.40"))
    assert await _write(conn, Batch(partial_quotes=[only_last])) == (0, 0, 1, 0)


async def test_trades_dedupe_by_trade_key_and_notify(conn: asyncpg.Connection, db_url: str) -> None:
    await _write(conn, Batch(markets=[market(1)]))
    listener, got = await _listen(db_url, "predhub_trades")
    try:
        page = raw(endpoint="/trades", page=1)
        assert await _write(conn, Batch(trades=[trade(1, k, page=page) for k in range(5)])) == (
            5,
            0,
            0,
            0,
        )
        await asyncio.sleep(0.2)
        assert len(got) == 1
        got.clear()
        overlap = [trade(1, k) for k in range(3, 8)] + [trade(1, 7)]
        assert await _write(conn, Batch(trades=overlap)) == (3, 0, 2, 0)
        assert await _write(conn, Batch(trades=[trade(1, 1)])) == (0, 0, 1, 0)
        await asyncio.sleep(0.2)
        assert len(got) == 1
    finally:
        await listener.close()
    rows = await conn.fetch(
        "SELECT t.trade_key, o.idx, t.bronze_id FROM silver.trades t "
        "JOIN silver.outcomes o ON o.id = t.outcome_id ORDER BY t.executed_at"
    )
    assert [r["trade_key"] for r in rows] == [f"tx1-{k}" for k in range(8)]
    assert [r["idx"] for r in rows] == [k % 2 for k in range(8)]
    assert rows[0]["bronze_id"] == page.bronze_id


async def test_changed_markets_update_in_place_with_stamps_and_search(
    conn: asyncpg.Connection,
) -> None:
    """Existing rows that changed take the UPDATE path: same ids, fresh search vector."""
    from predhub.ingest.silver import upsert_markets

    first = [market(i, page=raw(page=1)) for i in range(4)]
    async with conn.transaction():
        await upsert_markets(conn, first)
    ids = await conn.fetch("SELECT native_id, id, updated_at FROM silver.markets ORDER BY id")

    later = T0.replace(year=2027)
    changed = [market(i, page=raw(page=2)) for i in range(4)]
    changed[1] = market(1, question="Will the zeppelin land?", page=changed[1].raw)
    async with conn.transaction():
        result = await upsert_markets(conn, changed, synced_at=later)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 3)
    rows = await conn.fetch(
        "SELECT native_id, id, updated_at, s.metadata_synced_at, "
        "search_vector @@ to_tsquery('english', 'zeppelin') AS found "
        "FROM silver.markets JOIN silver.market_sync s ON s.market_id = id ORDER BY id"
    )
    assert [(r["native_id"], r["id"]) for r in rows] == [(r["native_id"], r["id"]) for r in ids]
    assert all(r["metadata_synced_at"] == later for r in rows), "every synced row is stamped"
    assert [r["found"] for r in rows] == [False, True, False, False]
    assert rows[1]["updated_at"] > ids[1]["updated_at"]
    assert [r["updated_at"] for r in rows[2:]] == [r["updated_at"] for r in ids[2:]]


async def test_a_trade_the_venue_re_dates_is_still_stored_once(conn: asyncpg.Connection) -> None:
    """The stored-key lookup only looks at or after the batch's oldest trade; the
    unique key catches what it misses, and the batch takes the staged path."""
    await _write(conn, Batch(markets=[market(1)]))
    assert await _write(conn, Batch(trades=[trade(1, 0)])) == (1, 0, 0, 0)
    re_dated = replace(trade(1, 0), executed_at=T0 + timedelta(hours=1))
    later = [replace(trade(1, k), executed_at=T0 + timedelta(hours=1, seconds=k)) for k in (1, 2)]
    assert await _write(conn, Batch(trades=[re_dated, *later])) == (2, 0, 1, 0)
    rows = await conn.fetch("SELECT trade_key, executed_at FROM silver.trades ORDER BY trade_key")
    assert [(r["trade_key"], r["executed_at"]) for r in rows] == [
        ("tx1-0", T0),
        ("tx1-1", T0 + timedelta(hours=1, seconds=1)),
        ("tx1-2", T0 + timedelta(hours=1, seconds=2)),
    ]


async def test_concurrent_writers_of_the_same_trades_store_each_once(
    conn: asyncpg.Connection, db_url: str
) -> None:
    """A second writer that misses the first's uncommitted trades waits on the
    unique key, then falls back to the staged insert: nothing is stored twice."""
    await _write(conn, Batch(markets=[market(1)]))
    first = Batch(trades=[trade(1, k) for k in range(4)])
    second = Batch(trades=[trade(1, k) for k in range(2, 6)])
    assert await _race(conn, db_url, first, second) == (2, 0, 2, 0)
    keys = await conn.fetch("SELECT trade_key FROM silver.trades ORDER BY trade_key")
    assert [r["trade_key"] for r in keys] == [f"tx1-{k}" for k in range(6)]


async def test_a_row_changed_outside_the_writer_is_compared_again(conn: asyncpg.Connection) -> None:
    """Unchanged markets are recognised by their stored fingerprint; a content
    change made without one (by hand) clears it, so the next load of the venue's
    unchanged data still puts the venue's values back."""
    assert await _write(conn, Batch(markets=[market(1), market(2)])) == (2, 0, 0, 0)
    assert (
        await conn.fetchval("SELECT count(*) FROM silver.markets WHERE row_fingerprint IS NULL")
        == 0
    )
    await conn.execute("UPDATE silver.markets SET question = 'Edited?' WHERE native_id = 'm1'")
    assert await conn.fetchval(
        "SELECT row_fingerprint IS NULL FROM silver.markets WHERE native_id = 'm1'"
    )
    assert await _write(conn, Batch(markets=[market(1), market(2)])) == (0, 1, 1, 0)
    assert await conn.fetchval("SELECT question FROM silver.markets WHERE native_id = 'm1'") == (
        "Will thing 1 happen?"
    )
    assert await _write(conn, Batch(markets=[market(1), market(2)])) == (0, 0, 2, 0)


async def test_concurrent_writers_of_the_same_new_markets_store_each_once(
    conn: asyncpg.Connection, db_url: str
) -> None:
    """New markets are COPied straight in; a writer that meets another's
    uncommitted copies waits on the unique key, then takes the staged upsert."""
    first = Batch(markets=[market(i) for i in range(3)])
    second = Batch(markets=[market(i) for i in range(1, 5)])
    assert await _race(conn, db_url, first, second) == (2, 0, 2, 0)
    rows = await conn.fetch(
        "SELECT m.native_id, count(o.id) AS outcomes FROM silver.markets m "
        "JOIN silver.outcomes o ON o.market_id = m.id GROUP BY m.native_id ORDER BY m.native_id"
    )
    assert [(r["native_id"], r["outcomes"]) for r in rows] == [(f"m{i}", 2) for i in range(5)]


async def _sync_rows(conn: asyncpg.Connection) -> dict[str, Any]:
    """Each market's metadata_synced_at, by native id."""
    rows = await conn.fetch(
        "SELECT m.native_id, s.metadata_synced_at FROM silver.markets m "
        "JOIN silver.market_sync s ON s.market_id = m.id"
    )
    return {r["native_id"]: r["metadata_synced_at"] for r in rows}


async def test_new_markets_sync_rows_are_born_stamped_in_one_write(
    conn: asyncpg.Connection,
) -> None:
    """A listing batch's new markets get their metadata_synced_at as their sync rows
    are made (no second version of each); known markets of the batch are stamped by
    an update of their sync rows."""
    await conn.execute("SELECT pg_stat_force_next_flush()")
    ins0, upd0 = await _stats(conn, "market_sync")
    batch = Batch(markets=[market(i) for i in range(3)], metadata_synced=True)
    assert await _write(conn, batch) == (3, 0, 0, 0)
    await conn.execute("SELECT pg_stat_force_next_flush()")
    ins1, upd1 = await _stats(conn, "market_sync")
    assert (ins1 - ins0, upd1 - upd0) == (3, 0), "new sync rows were written twice"
    assert await _sync_rows(conn) == {f"m{i}": T0 for i in range(3)}

    later = T0 + timedelta(hours=1)
    async with conn.transaction():
        mixed = Batch(markets=[market(i) for i in range(1, 5)], metadata_synced=True)
        summary = await write_batch(conn, mixed, fetched_at=later)
    assert (summary.inserted, summary.unchanged) == (2, 2)
    await conn.execute("SELECT pg_stat_force_next_flush()")
    ins2, upd2 = await _stats(conn, "market_sync")
    assert (ins2 - ins1, upd2 - upd1) == (2, 2), "only the known markets' rows are updated"
    assert await _sync_rows(conn) == {"m0": T0, **{f"m{i}": later for i in range(1, 5)}}


async def test_the_born_stamp_applies_to_its_own_insert_only(conn: asyncpg.Connection) -> None:
    """The setting that stamps a COPY's sync rows is spent by that insert: markets
    inserted later in the same transaction without a sync time get none."""
    from predhub.ingest.silver import upsert_markets

    async with conn.transaction():
        await upsert_markets(conn, [market(1)], synced_at=T0)
        await upsert_markets(conn, [market(2)])
        await conn.execute(
            "INSERT INTO silver.markets (venue, native_id, question) VALUES ('test', 'x', 'X?')"
        )
        assert not await conn.fetchval(
            "SELECT current_setting('predhub.new_markets_synced_at', true)"
        )
    assert await _sync_rows(conn) == {"m1": T0, "m2": None, "x": None}


async def test_a_writer_that_falls_back_to_the_staged_upsert_still_stamps_its_markets(
    conn: asyncpg.Connection, db_url: str
) -> None:
    """A writer whose COPY meets a concurrent writer's new markets takes the staged
    upsert: the markets it inserts there are stamped with its own sync time, those
    the other writer inserted keep the other's."""
    later = T0 + timedelta(hours=1)
    other = await connect(db_url)
    try:
        held = other.transaction()
        await held.start()
        first = Batch(markets=[market(i) for i in range(3)], metadata_synced=True)
        await write_batch(other, first, fetched_at=T0)

        async def second() -> int:
            async with conn.transaction():
                batch = Batch(markets=[market(i) for i in range(1, 5)], metadata_synced=True)
                return (await write_batch(conn, batch, fetched_at=later)).inserted

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the second writer waits for the first's unique keys"
        await held.commit()
        assert await waiting == 2
    finally:
        await other.close()
    assert await _sync_rows(conn) == {
        "m0": T0,
        "m1": T0,
        "m2": T0,
        "m3": later,
        "m4": later,
    }
