"""Price history kept by the write path: sampling rules, incremental rollups, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from predhub.gold.history import rollup
from predhub.ingest.silver import upsert_quotes
from predhub.ingest.silver.history import HistorySampling
from predhub.models import Quote
from predhub.service.testing import SeedMarket, seed_market
from predhub.settings import Settings

T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
SAMPLING = HistorySampling(high_seconds=60, normal_seconds=900)


async def _quote(conn: asyncpg.Connection, native: str, mid: str, at: datetime) -> None:
    """A quote of outcome 0 at `mid` (bid and ask a cent either side), written at `at`."""
    m = Decimal(mid)
    quote = Quote(
        "polymarket", native, 0, at, best_bid=m - Decimal("0.01"), best_ask=m + Decimal("0.01")
    )
    async with conn.transaction():
        await upsert_quotes(conn, [quote], fetched_at=at, mode="merge", sampling=SAMPLING)


async def _points(conn: asyncpg.Connection, market_id: int) -> list[tuple[datetime, float]]:
    rows = await conn.fetch(
        "SELECT h.ts, h.price FROM silver.price_history h JOIN silver.outcomes o"
        " ON o.id = h.outcome_id WHERE o.market_id = $1 AND o.idx = 0 ORDER BY h.ts",
        market_id,
    )
    return [(r["ts"], float(r["price"])) for r in rows]


async def test_a_quote_write_samples_on_change_or_a_new_bucket(conn: asyncpg.Connection) -> None:
    normal = await seed_market(conn, SeedMarket(native_id="n", question="N?", prices=None))
    high = await seed_market(conn, SeedMarket(native_id="h", question="H?", prices=None))
    await conn.execute(
        "UPDATE silver.market_sync SET sync_priority = 'high' WHERE market_id = $1", high
    )
    for native in ("n", "h"):
        await _quote(conn, native, "0.50", T0)  # first price: a point
        await _quote(conn, native, "0.50", T0 + timedelta(seconds=70))  # same, new minute
        await _quote(conn, native, "0.55", T0 + timedelta(seconds=80))  # changed: a point
        await _quote(conn, native, "0.55", T0 + timedelta(minutes=14))  # same bucket of 15
        await _quote(conn, native, "0.55", T0 + timedelta(minutes=16))  # a new 15-minute bucket
    assert await _points(conn, normal) == [
        (T0, 0.5),
        (T0 + timedelta(seconds=80), 0.55),
        (T0 + timedelta(minutes=16), 0.55),
    ]
    assert await _points(conn, high) == [
        (T0, 0.5),
        (T0 + timedelta(seconds=70), 0.5),
        (T0 + timedelta(seconds=80), 0.55),
        (T0 + timedelta(minutes=14), 0.55),
        (T0 + timedelta(minutes=16), 0.55),
    ]


async def test_a_rollup_touches_only_what_changed(conn: asyncpg.Connection) -> None:
    natives = [f"m{i}" for i in range(8)]
    ids = {
        n: await seed_market(conn, SeedMarket(native_id=n, question=f"{n}?", prices=None))
        for n in natives
    }
    for n in natives:
        await _quote(conn, n, "0.40", T0)
    settings = Settings()
    first = await rollup(conn, settings, now=T0 + timedelta(minutes=1), force=True)
    assert first.markets == set(ids.values()) and first.buckets == len(natives)
    # nothing changed: nothing to do
    idle = await rollup(conn, settings, now=T0 + timedelta(minutes=2), force=True)
    assert idle.ran and idle.buckets == 0 and idle.markets == frozenset()
    # a handful of changes: only those markets are rolled up
    changed = ["m1", "m4", "m6"]
    for n in changed:
        await _quote(conn, n, "0.47", T0 + timedelta(minutes=3))
    second = await rollup(conn, settings, now=T0 + timedelta(minutes=4), force=True)
    assert second.markets == {ids[n] for n in changed} and second.buckets == len(changed)
    row = await conn.fetchrow(
        "SELECT r.open, r.high, r.low, r.close, r.points FROM gold.market_price_history r"
        " JOIN silver.outcomes o ON o.id = r.outcome_id WHERE o.market_id = $1 AND o.idx = 0",
        ids["m4"],
    )
    assert tuple(row) == (Decimal("0.40"), Decimal("0.47"), Decimal("0.40"), Decimal("0.47"), 2)
    untouched = await conn.fetchval(
        "SELECT updated_at FROM gold.market_changes WHERE market_id = $1", ids["m0"]
    )
    assert untouched == T0 + timedelta(minutes=1)


async def test_rollup_is_one_worker_at_a_time_and_on_its_cadence(
    pool: asyncpg.Pool,
) -> None:
    settings = Settings(history_rollup_seconds=60)
    assert (await rollup(pool, settings, now=T0)).ran
    assert not (await rollup(pool, settings, now=T0 + timedelta(seconds=30))).ran
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM ops.history_rollup FOR UPDATE")
        # another worker holds the rollup: skipped, not waited for
        assert not (await rollup(pool, settings, now=T0 + timedelta(minutes=5))).ran
    assert (await rollup(pool, settings, now=T0 + timedelta(minutes=5))).ran


async def test_points_are_pruned_after_their_retention_and_candles_stay(
    conn: asyncpg.Connection,
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="old", question="Old?", prices=None))
    await _quote(conn, "old", "0.30", T0)
    await _quote(conn, "old", "0.35", T0 + timedelta(days=20))
    settings = Settings(history_1m_retention_days=14)
    report = await rollup(conn, settings, now=T0 + timedelta(days=20, minutes=1), force=True)
    assert report.pruned == 1
    assert await _points(conn, mid) == [(T0 + timedelta(days=20), 0.35)]
    buckets = await conn.fetchval(
        "SELECT count(*) FROM gold.market_price_history r JOIN silver.outcomes o"
        " ON o.id = r.outcome_id WHERE o.market_id = $1",
        mid,
    )
    assert buckets == 2
