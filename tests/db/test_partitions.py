"""Time partitions: made on demand and ahead, dropped whole, and pruned by the hot reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from ingest.factories import raw
from predhub.db import partitions
from predhub.db.queries import load
from predhub.ingest.bronze import fetched_day, store_responses
from predhub.ingest.retention import prune_history
from predhub.ingest.silver import insert_trades
from predhub.models import Trade
from predhub.service.testing import SeedMarket, seed_market

NOW = datetime.now(UTC).replace(microsecond=0)


def _trade(key: str, at: datetime, native_id: str = "m1", venue: str = "kalshi") -> Trade:
    return Trade(
        venue=venue,
        market_native_id=native_id,
        trade_key=key,
        price=Decimal("0.5"),
        size=Decimal("3"),
        executed_at=at,
        outcome_index=0,
        side="buy",
    )


async def _names(conn: asyncpg.Connection, parent: str) -> list[str]:
    return [str(r["name"]) for r in await partitions.bounds(conn, parent)]


def _executed(plan: Any) -> set[str]:
    """The relations an EXPLAIN ANALYZE plan actually read (loops > 0)."""
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node and node.get("Actual Loops", 0) > 0:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    for sub in plan[0].get("Plans", []):
        walk(sub)
    return found


async def _explain(conn: asyncpg.Connection, sql: str, *args: Any) -> set[str]:
    plan = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
    return _executed(json.loads(plan) if isinstance(plan, str) else plan)


async def test_the_migration_leaves_no_default_partition_and_partitions_ahead(
    conn: asyncpg.Connection,
) -> None:
    for parent in partitions.PARENTS:
        bounds = await partitions.bounds(conn, parent)
        assert bounds, parent
        assert all(b["lo"] is not None and b["hi"] is not None for b in bounds), parent
        assert bounds[-1]["hi"] > NOW + timedelta(days=1), parent


async def test_a_trade_years_back_gets_its_partition_and_is_stored_once(
    conn: asyncpg.Connection,
) -> None:
    await seed_market(conn, SeedMarket(venue="kalshi", native_id="m1", prices=None))
    old = datetime(2019, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
    assert "silver.trades_p20190301" not in await _names(conn, partitions.TRADES)
    result = await insert_trades(conn, [_trade("t-old", old), _trade("t-now", NOW)])
    assert result.inserted == 2
    assert "silver.trades_p20190301" in await _names(conn, partitions.TRADES)
    # the same trades again: nothing new
    assert (await insert_trades(conn, [_trade("t-old", old)])).inserted == 0


async def test_one_trade_from_stream_and_rest_at_two_precisions_is_stored_once(
    conn: asyncpg.Connection,
) -> None:
    """Kalshi's REST carries microseconds, its stream milliseconds: one trade, two times."""
    await seed_market(conn, SeedMarket(venue="kalshi", native_id="m1", prices=None))
    rest = NOW.replace(microsecond=722910)
    stream = NOW.replace(microsecond=722000)
    assert (await insert_trades(conn, [_trade("k1", stream)])).inserted == 1
    again = await insert_trades(conn, [_trade("k1", rest), _trade("k2", rest)])
    assert (again.inserted, again.unchanged) == (1, 1)
    count = await conn.fetchval("SELECT count(*) FROM silver.trades WHERE trade_key = 'k1'")
    assert count == 1


async def test_retention_drops_whole_days_of_bronze_and_keeps_recent(
    conn: asyncpg.Connection,
) -> None:
    old = raw(page=1)
    old.fetched_at = NOW - timedelta(days=40)
    new = raw(page=2)
    new.fetched_at = NOW
    await store_responses(conn, [old, new])
    old_part = "bronze.api_responses_p" + fetched_day(old.fetched_at).strftime("%Y%m%d")
    assert old_part in await _names(conn, partitions.RESPONSES)
    pruned = await prune_history(conn, before=NOW - timedelta(days=30))
    assert pruned.responses == 1 and pruned.partitions >= 2
    assert old_part not in await _names(conn, partitions.RESPONSES)
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM bronze.api_responses")]
    assert ids == [new.bronze_id]


async def test_the_latest_book_survives_its_day_being_dropped(conn: asyncpg.Connection) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="b1", prices=None))
    outcome = await conn.fetchval("SELECT id FROM silver.outcomes WHERE market_id = $1", mid)
    at = NOW - timedelta(days=45)
    await partitions.ensure(conn, partitions.BOOKS, [at])
    await conn.execute(
        "INSERT INTO silver.order_book_snapshots (market_id, outcome_id, observed_at,"
        " fetched_at, bids, asks) VALUES ($1, $2, $3, $3, '[]', '[[\"0.6\", \"5\"]]')",
        mid,
        outcome,
        at,
    )
    pruned = await prune_history(conn, before=NOW - timedelta(days=30))
    assert pruned.books == 1
    assert await conn.fetchval("SELECT count(*) FROM silver.order_book_snapshots") == 0
    latest = await conn.fetchrow(
        "SELECT observed_at, asks FROM silver.order_book_latest WHERE outcome_id = $1", outcome
    )
    assert latest is not None and latest["observed_at"] == at


async def test_hot_reads_touch_only_the_partitions_they_need(conn: asyncpg.Connection) -> None:
    mid = await seed_market(conn, SeedMarket(venue="kalshi", native_id="m1", prices=None))
    outcome = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", mid
    )
    months = [NOW - timedelta(days=400), NOW - timedelta(days=200), NOW]
    trades = [
        _trade(f"t{i}-{j}", at + timedelta(minutes=j))
        for i, at in enumerate(months)
        for j in range(30)
    ]
    await insert_trades(conn, trades)
    await partitions.ensure(conn, partitions.PRICE_HISTORY, months)
    for at in months:
        await conn.execute(
            "INSERT INTO silver.price_history (outcome_id, ts, price)"
            " SELECT $1, $2::timestamptz + i * interval '1 minute', 0.5"
            " FROM generate_series(0, 59) AS i",
            outcome,
            at,
        )
    # A few hundred rows make a sequential scan the cheapest plan; at real sizes the
    # planner takes the indexes, as it is made to here.
    await conn.execute("SET enable_seqscan = off")
    month = "trades_p" + NOW.strftime("%Y%m01")
    older = {"trades_p" + at.strftime("%Y%m01") for at in months[:2]}

    history = load("service_history")
    # the newest trades of a market: newest month first (and the empty months made
    # ahead); the older months are never executed
    read = await _explain(conn, history.trades_page, mid, 20)
    assert month in read and not read & older

    # a range of 1-minute candles: the week(s) of that range only
    read = await _explain(
        conn, load("candles").candles_points, mid, 0, 60, NOW - timedelta(hours=6), NOW
    )
    weeks = {r for r in read if r.startswith("price_history_p")}
    assert weeks and len(weeks) <= 2
    assert all(r.startswith(("price_history_p", "trades_p", "outcomes")) for r in read)
    assert not read & older

    # the current book reads no snapshot partition at all
    read = await _explain(conn, history.books, mid)
    assert not any(r.startswith("order_book_snapshots") for r in read)

    # a bronze lookup reads the day of the batch only
    day = fetched_day(NOW)
    read = await _explain(
        conn,
        load("bronze").sight_known,
        [b"\x00" * 32],
        [NOW],
        [day],
        None,
        [day],
    )
    assert {r for r in read if r.startswith("api_responses")} <= {
        "api_responses_p" + day.strftime("%Y%m%d")
    }


async def test_the_latest_point_is_one_narrow_row_kept_on_insert(conn: asyncpg.Connection) -> None:
    mid = await seed_market(conn, SeedMarket(venue="kalshi", native_id="m1", prices=None))
    outcome = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", mid
    )
    weeks = [NOW - timedelta(days=21), NOW - timedelta(days=7), NOW]
    await partitions.ensure(conn, partitions.PRICE_HISTORY, [*weeks, weeks[0] - timedelta(7)])
    insert = "INSERT INTO silver.price_history (outcome_id, ts, price) VALUES ($1, $2, $3)"
    latest = "SELECT ts, price FROM silver.price_latest WHERE outcome_id = $1"

    await conn.executemany(insert, [(outcome, at, Decimal("0.4")) for at in weeks[:2]])
    assert tuple(await conn.fetchrow(latest, outcome)) == (weeks[1], Decimal("0.4"))
    await conn.execute(insert, outcome, weeks[2], Decimal("0.6"))
    assert tuple(await conn.fetchrow(latest, outcome)) == (weeks[2], Decimal("0.6"))
    # a backfill of an older point leaves it; a new price at the latest time rewrites it
    await conn.execute(insert, outcome, weeks[0] - timedelta(days=7), Decimal("0.1"))
    assert tuple(await conn.fetchrow(latest, outcome)) == (weeks[2], Decimal("0.6"))
    await conn.execute(
        "UPDATE silver.price_history SET price = 0.7 WHERE outcome_id = $1 AND ts = $2",
        outcome,
        weeks[2],
    )
    assert tuple(await conn.fetchrow(latest, outcome)) == (weeks[2], Decimal("0.7"))

    # the price now is that row, read without a weekly partition; an earlier time
    # still walks the weeks back to its point
    await conn.execute("SET enable_seqscan = off")
    price_at = load("candles").price_at
    read = await _explain(conn, price_at, mid, NOW + timedelta(minutes=1))
    assert "price_latest" in read
    assert not {r for r in read if r.startswith("price_history_p")}, read
    now = await conn.fetchrow(price_at, mid, NOW + timedelta(minutes=1))
    assert (now["price"], now["ts"], now["source"]) == (Decimal("0.7"), weeks[2], "history")
    then = await conn.fetchrow(price_at, mid, weeks[1] + timedelta(minutes=1))
    assert (then["price"], then["ts"]) == (Decimal("0.4"), weeks[1])


async def test_sampling_a_quote_opens_no_history_partition(conn: asyncpg.Connection) -> None:
    mid = await seed_market(conn, SeedMarket(venue="kalshi", native_id="m1", prices=(0.6, 0.4)))
    outcome = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", mid
    )
    weeks = [NOW - timedelta(days=7 * k) for k in range(6)]
    await partitions.ensure(conn, partitions.PRICE_HISTORY, weeks)
    await conn.execute(
        "INSERT INTO silver.price_history (outcome_id, ts, price) VALUES ($1, $2, 0.5)",
        outcome,
        weeks[-1],
    )
    await conn.execute(
        "CREATE TEMP TABLE ingest_quotes_in (venue text, market_native_id text,"
        " outcome_index smallint, fetched_at timestamptz)"
    )
    await conn.execute("INSERT INTO ingest_quotes_in VALUES ('kalshi', 'm1', 0, $1)", NOW)
    await conn.execute("SET enable_seqscan = off")
    # the latest point is five weeks old: a scan newest week first would open them all
    read = await _explain(conn, load("history").sample_quotes, 60.0, 900.0)
    assert "price_latest" in read
    assert not any(r.startswith("price_history_p") for r in read)
    assert tuple(
        await conn.fetchrow(
            "SELECT ts, price FROM silver.price_latest WHERE outcome_id = $1", outcome
        )
    ) == (NOW, Decimal("0.6"))
