"""Gold tables against the same figures computed straight from silver, on simulated venues."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from predhub.db import partitions
from predhub.gold.refresh import WINDOWS, GoldConfig, refresh
from predhub.gold.schedule import HOT, WARM, Cadence, claim, run_due
from predhub.ingest.pipeline import Ingestor
from predhub.service.testing import SeedMarket, seed_market
from predhub.sim.testing import SimHandle
from predhub.venues.registry import build_venue

VENUES = ("polymarket", "kalshi")
MIN_VOLUME = 100.0
RANKED = 20
WINDOW_SECONDS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400}


def config() -> GoldConfig:
    return GoldConfig(
        venues=VENUES,
        top_n={"polymarket": 7, "kalshi": 5},
        floors={"polymarket": 3000.0, "kalshi": 1000.0},
        overall_n=9,
        min_volume=MIN_VOLUME,
        ranked=RANKED,
    )


def yes_path(sim: SimHandle, venue: str, native_id: str) -> list[tuple[float, float]]:
    """The simulator's true Yes price after each trade: (time, price)."""
    world = sim.sim.world
    m = world.market(venue, native_id)
    path: dict[int, float] = {}
    for tr in world.trades.get(m.idx, 0, world.trades.count(m.idx)):
        path[tr.ts_ms] = tr.price if tr.outcome == 0 else 1 - tr.price
    return [(ms / 1000, round(p, 6)) for ms, p in sorted(path.items())]


@pytest.fixture
async def loaded(sim: SimHandle, pool: asyncpg.Pool) -> AsyncIterator[datetime]:
    """Both venues loaded from the simulator, with its true price paths as history."""
    settings = sim.settings()
    for name in VENUES:
        venue = build_venue(name, settings)
        try:
            await Ingestor(pool, venue, settings).static_load()
        finally:
            await venue.close()
    rows = await pool.fetch(
        "SELECT m.venue, m.native_id, o.id AS outcome_id FROM silver.markets m "
        "JOIN silver.outcomes o ON o.market_id = m.id AND o.idx = 0"
    )
    history = [
        (r["outcome_id"], datetime.fromtimestamp(t, UTC), Decimal(str(p)))
        for r in rows
        for t, p in yes_path(sim, r["venue"], r["native_id"])
    ]
    async with pool.acquire() as conn:  # rows written straight in need their weeks
        await partitions.ensure(conn, partitions.PRICE_HISTORY, [h[1] for h in history])
    await pool.copy_records_to_table(
        "price_history",
        schema_name="silver",
        records=history,
        columns=["outcome_id", "ts", "price"],
    )
    yield datetime.fromtimestamp(sim.sim.world.now, UTC)


async def test_snapshots_equal_silver(pool: asyncpg.Pool, loaded: datetime) -> None:
    async with pool.acquire() as conn:
        report = await refresh(conn, config(), now=loaded)
    total = await pool.fetchval("SELECT count(*) FROM silver.markets")
    assert report.markets == total > 0

    venue_truth = {
        r["venue"]: dict(r)
        for r in await pool.fetch(
            "SELECT venue, count(*) AS markets, count(*) FILTER (WHERE status = 'open') AS open,"
            " coalesce(sum(volume_24h), 0) AS v24, coalesce(sum(volume_total), 0) AS vt,"
            " coalesce(sum(liquidity), 0) AS liq, coalesce(sum(open_interest), 0) AS oi"
            " FROM silver.markets GROUP BY venue"
        )
    }
    stats = {r["venue"]: r for r in await pool.fetch("SELECT * FROM gold.venue_stats")}
    assert set(stats) == set(venue_truth)
    for venue, t in venue_truth.items():
        s = stats[venue]
        assert (s["markets"], s["open_markets"]) == (t["markets"], t["open"])
        assert (s["volume_24h"], s["volume_total"], s["liquidity"], s["open_interest"]) == (
            t["v24"],
            t["vt"],
            t["liq"],
            t["oi"],
        )
        assert s["as_of"] is not None and s["refreshed_at"] == loaded
    assert sum(r["markets"] for r in await pool.fetch("SELECT * FROM gold.category_stats")) == total

    cfg = config()
    for venue in VENUES:
        expected = await pool.fetch(
            "SELECT id FROM silver.markets WHERE venue = $1 AND status = 'open'"
            " AND coalesce(volume_24h, 0) >= $2 ORDER BY coalesce(volume_24h, 0) DESC, id LIMIT $3",
            venue,
            cfg.floors[venue],
            cfg.top_n[venue],
        )
        got = await pool.fetch(
            "SELECT market_id FROM gold.top_markets_snapshot WHERE scope = $1 ORDER BY rank", venue
        )
        assert [r["market_id"] for r in got] == [r["id"] for r in expected]
        assert expected
    overall = await pool.fetch(
        "SELECT id FROM silver.markets WHERE status = 'open' AND ((venue = 'polymarket' AND"
        " coalesce(volume_24h, 0) >= 3000) OR (venue = 'kalshi' AND coalesce(volume_24h, 0) >= 1000))"
        " ORDER BY coalesce(volume_24h, 0) DESC, id LIMIT 9"
    )
    got = await pool.fetch(
        "SELECT market_id FROM gold.top_markets_snapshot WHERE scope = '*' ORDER BY rank"
    )
    assert [r["market_id"] for r in got] == [r["id"] for r in overall]

    events_truth = await pool.fetch(
        "SELECT m.event_id, count(*) AS n, coalesce(sum(m.volume_total), 0) AS vt,"
        " coalesce(sum(m.volume_24h), 0) AS v24,"
        " (SELECT max(q.price) FROM silver.quotes q JOIN silver.markets x ON x.id = q.market_id"
        "  WHERE x.event_id = m.event_id AND x.status = 'open') AS lead,"
        " max(q0.price) - min(q0.price) AS spread"
        " FROM silver.markets m"
        " LEFT JOIN silver.outcomes o0 ON o0.market_id = m.id AND o0.idx = 0"
        " LEFT JOIN silver.quotes q0 ON q0.outcome_id = o0.id"
        " WHERE m.event_id IS NOT NULL GROUP BY m.event_id"
    )
    events = {r["event_id"]: r for r in await pool.fetch("SELECT * FROM gold.events_snapshot")}
    assert len(events) == len(events_truth) > 0
    for t in events_truth:
        e = events[t["event_id"]]
        assert (e["markets"], e["volume_total"], e["volume_24h"]) == (t["n"], t["vt"], t["v24"])
        assert e["probability_spread"] == t["spread"]
        if t["lead"] is not None:
            assert e["leading_probability"] == t["lead"]


async def test_movers_equal_the_simulators_true_moves(
    sim: SimHandle, pool: asyncpg.Pool, loaded: datetime
) -> None:
    async with pool.acquire() as conn:
        await refresh(conn, config(), now=loaded)
    now = loaded.timestamp()
    markets = await pool.fetch(
        "SELECT id, venue, native_id FROM silver.markets"
        " WHERE status = 'open' AND coalesce(volume_24h, 0) >= $1",
        MIN_VOLUME,
    )
    for window in WINDOWS:
        truth: list[tuple[float, int]] = []
        for m in markets:
            path = [(t, p) for t, p in yes_path(sim, m["venue"], m["native_id"]) if t <= now]
            if not path:
                continue
            earlier = [p for t, p in path if t <= now - WINDOW_SECONDS[window]]
            then = earlier[-1] if earlier else path[0][1]
            move = round(path[-1][1] - then, 6)
            if move:
                truth.append((move, m["id"]))
        truth.sort(key=lambda mv: (-abs(mv[0]), mv[1]))
        got = await pool.fetch(
            "SELECT market_id, move FROM gold.movers WHERE time_window = $1 ORDER BY rank", window
        )
        assert [(float(r["move"]), r["market_id"]) for r in got] == [
            (mv, i) for mv, i in truth[:RANKED]
        ]
        assert got, window


async def test_refresh_touches_only_changed_markets(pool: asyncpg.Pool, loaded: datetime) -> None:
    async with pool.acquire() as conn:
        await refresh(conn, config(), now=loaded)
        ids = [
            r["id"] for r in await conn.fetch("SELECT id FROM silver.markets ORDER BY id LIMIT 3")
        ]
        await conn.execute(
            "UPDATE silver.markets SET volume_24h = coalesce(volume_24h, 0) + 1000000,"
            " category = 'Crypto' WHERE id = ANY($1::bigint[])",
            ids,
        )
        later = loaded + timedelta(minutes=1)
        report = await refresh(conn, config(), now=later)
        again = await refresh(conn, config(), now=later + timedelta(minutes=1))
    assert report.market_ids == ids
    assert again.markets == 0
    touched = await pool.fetch(
        "SELECT market_id FROM gold.market_stats WHERE refreshed_at = $1 ORDER BY market_id", later
    )
    assert [r["market_id"] for r in touched] == ids
    truth = {
        r["venue"]: (r["n"], r["v24"])
        for r in await pool.fetch(
            "SELECT venue, count(*) AS n, coalesce(sum(volume_24h), 0) AS v24"
            " FROM silver.markets GROUP BY venue"
        )
    }
    stats = {
        r["venue"]: (r["markets"], r["volume_24h"])
        for r in await pool.fetch("SELECT * FROM gold.venue_stats")
    }
    assert stats == truth
    crypto = await pool.fetch(
        "SELECT DISTINCT venue FROM gold.market_stats WHERE market_id = ANY($1::bigint[])"
        " AND category = 'Crypto'",
        ids,
    )
    assert crypto


async def test_one_worker_holds_a_refresh_at_a_time(pool: asyncpg.Pool) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert await claim(pool, "hot", "a", now=now, every=60, lease=30)
    assert not await claim(pool, "hot", "b", now=now, every=60, lease=30)
    # the lease ran out (worker a died): b takes over
    assert await claim(pool, "hot", "b", now=now + timedelta(seconds=31), every=60, lease=30)


async def test_a_hot_refresh_that_folded_nothing_is_due_once_changes_wait(
    pool: asyncpg.Pool,
) -> None:
    """A new hub: the first refresh finds no market; the first load's markets are folded
    in at the next upkeep loop, not a cadence later; then the cadence holds again."""
    cadences = (Cadence(HOT, 60), Cadence(WARM, 900))
    start = datetime(2026, 1, 1, tzinfo=UTC)

    async def due(seconds: float) -> dict[str, int]:
        done = await run_due(
            pool, config(), cadences, "w", now=start + timedelta(seconds=seconds), lease_seconds=30
        )
        return {name: report.markets for name, report in done.items()}

    assert await due(0) == {HOT: 0, WARM: 0}
    assert await due(5) == {}  # nothing waits: the cadence holds
    async with pool.acquire() as conn:
        await seed_market(conn, SeedMarket(native_id="first", question="First?"))
    assert await due(10) == {HOT: 1}
    async with pool.acquire() as conn:
        await seed_market(conn, SeedMarket(native_id="second", question="Second?"))
    assert await due(15) == {}  # it folded something: the next waits for its cadence
    assert await due(70) == {HOT: 1}


async def test_trending_equals_silver_trades(
    sim: SimHandle, pool: asyncpg.Pool, loaded: datetime
) -> None:
    settings = sim.settings()
    venue = build_venue("polymarket", settings)
    try:
        ids = [
            r["id"]
            for r in await pool.fetch(
                "SELECT id FROM silver.markets WHERE venue = 'polymarket' AND status = 'open'"
                " ORDER BY volume_24h DESC NULLS LAST, id LIMIT 40"
            )
        ]
        await Ingestor(pool, venue, settings).sync_trades(ids)
    finally:
        await venue.close()
    async with pool.acquire() as conn:
        await refresh(conn, config(), now=loaded)
    truth = await pool.fetch(
        "SELECT m.id, sum(t.price * t.size) FILTER (WHERE t.executed_at > $1::timestamptz - interval '1 day')"
        "   - coalesce(sum(t.price * t.size) FILTER (WHERE t.executed_at <= $1::timestamptz - interval '1 day'),"
        "   0) AS score,"
        " count(*) FILTER (WHERE t.executed_at > $1::timestamptz - interval '1 day') AS n24,"
        " count(DISTINCT t.extra ->> 'proxyWallet')"
        "   FILTER (WHERE t.executed_at > $1::timestamptz - interval '1 day') AS traders"
        " FROM silver.trades t JOIN silver.markets m ON m.id = t.market_id"
        " WHERE m.status = 'open' AND coalesce(m.volume_24h, 0) >= $2"
        "   AND t.executed_at > $1::timestamptz - interval '2 days' AND t.executed_at <= $1::timestamptz"
        " GROUP BY m.id HAVING count(*) FILTER (WHERE t.executed_at > $1::timestamptz - interval '1 day') > 0"
        " ORDER BY score DESC, m.id LIMIT $3",
        loaded,
        MIN_VOLUME,
        RANKED,
    )
    got = await pool.fetch("SELECT * FROM gold.trending ORDER BY rank")
    assert [(r["market_id"], r["score"], r["trades_24h"], r["traders_24h"]) for r in got] == [
        (r["id"], r["score"], r["n24"], r["traders"]) for r in truth
    ]
    assert got and all(r["refreshed_at"] == loaded for r in got)


async def _freshness_truth(
    pool: asyncpg.Pool, now: datetime, since: datetime
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Each venue's freshness per priority and as a whole ('*'), straight from silver
    (the newest trade among those of the 48 h before `since`, the first refresh)."""
    rows = await pool.fetch(
        "SELECT m.venue, coalesce(s.sync_priority, '*') AS p, count(*) AS markets,"
        " count(*) FILTER (WHERE m.status = 'open') AS open,"
        " count(*) FILTER (WHERE m.status = 'open' AND s.quotes_synced_at IS NULL) AS never,"
        " max(s.quotes_synced_at) AS newest_q, max(s.metadata_synced_at) AS newest_m,"
        " max((SELECT max(t.executed_at) FROM silver.trades t WHERE t.market_id = m.id"
        "      AND t.executed_at > $2::timestamptz - interval '48 hours'"
        "      AND t.executed_at <= $2)) AS newest_t,"
        " percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM $1 - s.quotes_synced_at))"
        "   FILTER (WHERE m.status = 'open') AS p50,"
        " percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM $1 - s.quotes_synced_at))"
        "   FILTER (WHERE m.status = 'open') AS p90"
        " FROM silver.markets m JOIN silver.market_sync s ON s.market_id = m.id"
        " GROUP BY GROUPING SETS ((m.venue, s.sync_priority), (m.venue))",
        now,
        since,
    )
    return {(r["venue"], r["p"]): tuple(r)[2:] for r in rows}


async def _assert_freshness(pool: asyncpg.Pool, now: datetime, since: datetime) -> None:
    truth = await _freshness_truth(pool, now, since)
    got = {
        (r["venue"], r["sync_priority"]): r
        for r in await pool.fetch("SELECT * FROM gold.venue_freshness")
    }
    live = {k: v for k, v in got.items() if v["markets"] > 0}
    assert set(live) == set(truth)
    for key, (markets, open_, never, newest_q, newest_m, newest_t, p50, p90) in truth.items():
        row = got[key]
        assert (row["markets"], row["open_markets"], row["never_quoted"]) == (markets, open_, never)
        newest = (row["newest_quote_at"], row["newest_metadata_at"], row["newest_trade_at"])
        if key[1] == "*":
            assert newest == (newest_q, newest_m, newest_t), key
        else:
            # the newest times only move forward: a market that left a priority leaves
            # its sync times there until newer ones come
            for mine, exact in zip(newest, (newest_q, newest_m, newest_t), strict=True):
                assert exact is None or (mine is not None and mine >= exact), key
        # the histogram keeps seconds: a percentile is its second's middle, within half a second
        for mine, exact in ((row["quote_age_p50"], p50), (row["quote_age_p90"], p90)):
            assert (mine is None) == (exact is None), key
            if exact is not None:
                assert abs(mine - float(exact)) <= 0.51, (key, mine, exact)
        assert row["measured_at"] == now
    assert (
        await pool.fetchval("SELECT count(*) FROM gold.quote_sync_seconds WHERE markets <= 0") == 0
    )
    assert await pool.fetchval("SELECT sum(markets) FROM gold.quote_sync_seconds") == sum(
        t[1] - t[2] for k, t in truth.items() if k[1] == "*"
    )


async def test_venue_freshness_is_kept_by_difference(pool: asyncpg.Pool, loaded: datetime) -> None:
    """The venues' freshness rows equal silver's own figures after a full refresh and after
    an incremental one in which markets were re-quoted, closed and re-prioritised."""
    now = datetime.now(UTC) + timedelta(seconds=1)
    async with pool.acquire() as conn:
        await refresh(conn, config(), now=now)
        await _assert_freshness(pool, now, now)
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM silver.markets ORDER BY id")]
        spread = [now - timedelta(seconds=7 * i + 0.25) for i in range(len(ids))]
        await conn.execute(
            "UPDATE silver.market_sync s SET quotes_synced_at = t.at"
            " FROM unnest($1::bigint[], $2::timestamptz[]) AS t(id, at) WHERE s.market_id = t.id",
            ids[::3],
            spread[: len(ids[::3])],
        )
        await conn.execute(
            "UPDATE silver.markets SET status = 'closed' WHERE id = ANY($1::bigint[])", ids[1::7]
        )
        # a new priority alone marks the market changed
        await conn.execute(
            "UPDATE silver.market_sync SET sync_priority = 'high'"
            " WHERE market_id = ANY($1::bigint[])",
            ids[2::5],
        )
        await conn.execute(
            "UPDATE silver.market_sync SET metadata_synced_at = $2"
            " WHERE market_id = ANY($1::bigint[])",
            ids[4::9],
            now,
        )
        later = now + timedelta(minutes=1)
        report = await refresh(conn, config(), now=later)
    assert 0 < report.markets < len(ids)
    await _assert_freshness(pool, later, now)
