"""Priority rules, applied set-based to a venue's markets in real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from predhub.scheduler import priority
from predhub.scheduler.priority import recompute_priorities
from predhub.settings import Settings

from .helpers import add_market, priorities

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def test_rules(conn: asyncpg.Connection) -> None:
    s = Settings()
    await add_market(conn, "busy", volume_24h=5000, end_at=NOW + timedelta(days=30))
    await add_market(conn, "quiet", volume_24h=10, end_at=NOW + timedelta(days=30))
    await add_market(conn, "closing", volume_24h=10, end_at=NOW + timedelta(hours=3))
    await add_market(conn, "hot", volume_24h=0, interest_at=NOW - timedelta(minutes=5))
    await add_market(conn, "cold", volume_24h=0, interest_at=NOW - timedelta(hours=5))
    await add_market(conn, "just_closed", status="closed", end_at=NOW - timedelta(days=2))
    await add_market(conn, "long_closed", status="closed", end_at=NOW - timedelta(days=30))
    await add_market(conn, "resolved", status="resolved", resolved_at=NOW - timedelta(days=1))
    await add_market(
        conn, "resolved_long_ago", status="resolved", resolved_at=NOW - timedelta(days=60)
    )
    await add_market(
        conn, "voided", status="voided", end_at=NOW - timedelta(days=9), interest_at=NOW
    )
    await add_market(conn, "other_venue", venue="polymarket", volume_24h=5000)

    changed = await recompute_priorities(conn, "kalshi", s, NOW)
    assert await priorities(conn) == {
        "busy": "high",
        "quiet": "normal",
        "closing": "high",
        "hot": "high",
        "cold": "normal",
        "just_closed": "normal",
        "long_closed": "low",
        "resolved": "low",
        "resolved_long_ago": "archived",
        "voided": "archived",
        "other_venue": "normal",  # another venue's markets are left alone
    }
    # the default is normal, so only the rows that differ were written
    assert changed == 7
    assert await recompute_priorities(conn, "kalshi", s, NOW) == 0


async def test_interest_cools_down_and_thresholds_come_from_settings(
    conn: asyncpg.Connection,
) -> None:
    await add_market(conn, "m", volume_24h=500, interest_at=NOW - timedelta(minutes=10))
    await recompute_priorities(conn, "kalshi", Settings(), NOW)
    assert (await priorities(conn))["m"] == "high"
    await recompute_priorities(conn, "kalshi", Settings(), NOW + timedelta(hours=1))
    assert (await priorities(conn))["m"] == "normal"
    await recompute_priorities(
        conn, "kalshi", Settings(high_volume_24h_usd=100), NOW + timedelta(hours=1)
    )
    assert (await priorities(conn))["m"] == "high"


async def _versions(conn: asyncpg.Connection) -> dict[int, str]:
    rows = await conn.fetch("SELECT market_id, xmin::text AS x FROM silver.market_sync")
    return {r["market_id"]: r["x"] for r in rows}


async def test_only_markets_whose_inputs_changed_are_rederived(conn: asyncpg.Connection) -> None:
    s = Settings()
    ids = {
        name: await add_market(conn, name, volume_24h=10, end_at=NOW + timedelta(days=30))
        for name in ("a", "b", "c")
    }
    closed = await add_market(conn, "closed", status="closed", end_at=NOW - timedelta(days=1))
    await recompute_priorities(conn, "kalshi", s, NOW)
    assert await recompute_priorities(conn, "kalshi", s, NOW + timedelta(seconds=1)) == 0
    before = await _versions(conn)

    # b trades past the high-volume line; the closed market resolves
    await conn.execute("UPDATE silver.markets SET volume_24h = 5000 WHERE id = $1", ids["b"])
    await conn.execute(
        "UPDATE silver.markets SET status = 'resolved', resolved_at = $2 WHERE id = $1",
        closed,
        NOW - timedelta(days=30),
    )
    assert await recompute_priorities(conn, "kalshi", s, NOW + timedelta(seconds=2)) == 2
    got = await priorities(conn)
    assert (got["b"], got["closed"], got["a"]) == ("high", "archived", "normal")
    after = await _versions(conn)
    rewritten = {m for m in before if before[m] != after[m]}
    assert rewritten == {ids["b"], closed}  # nothing else is rewritten
    assert await conn.fetchval("SELECT count(*) FROM ops.priority_changes") == 0

    # a change that leaves the priority as it was is read from the log and writes nothing
    await conn.execute("UPDATE silver.markets SET volume_24h = 20 WHERE id = $1", ids["a"])
    assert await conn.fetchval("SELECT count(*) FROM ops.priority_changes") == 1
    assert await recompute_priorities(conn, "kalshi", s, NOW + timedelta(seconds=3)) == 0
    assert await _versions(conn) == after
    assert await conn.fetchval("SELECT count(*) FROM ops.priority_changes") == 0
    # a write of the market row that leaves the rules' inputs alone logs nothing
    await conn.execute("UPDATE silver.markets SET question = 'Q?' WHERE id = $1", ids["a"])
    assert await conn.fetchval("SELECT count(*) FROM ops.priority_changes") == 0


async def test_an_api_callers_interest_makes_the_priority_due(conn: asyncpg.Connection) -> None:
    s = Settings()
    m = await add_market(conn, "m", volume_24h=10)
    await recompute_priorities(conn, "kalshi", s, NOW)
    assert (await priorities(conn))["m"] == "normal"
    await conn.execute(
        "UPDATE silver.market_sync SET interest_at = $2 WHERE market_id = $1", m, NOW
    )
    assert await recompute_priorities(conn, "kalshi", s, NOW + timedelta(seconds=1)) == 1
    assert (await priorities(conn))["m"] == "high"


async def test_a_passing_threshold_changes_the_priority_with_no_input_change(
    conn: asyncpg.Connection,
) -> None:
    s = Settings()  # closing within 24 h, interest for 30 min, recently closed 7 days
    closing = await add_market(conn, "closing", volume_24h=10, end_at=NOW + timedelta(hours=30))
    await add_market(conn, "hot", volume_24h=10, interest_at=NOW - timedelta(minutes=10))
    await add_market(conn, "resolved", status="resolved", resolved_at=NOW - timedelta(days=6))
    await add_market(conn, "steady", volume_24h=10, end_at=NOW + timedelta(days=300))
    await recompute_priorities(conn, "kalshi", s, NOW)
    assert await priorities(conn) == {
        "closing": "normal",
        "hot": "high",
        "resolved": "low",
        "steady": "normal",
    }
    tick = timedelta(microseconds=1)

    async def at(when: datetime) -> dict[str, str]:
        await recompute_priorities(conn, "kalshi", s, when)
        return await priorities(conn)

    # interest cools 30 minutes after it was shown: still hot at the edge, not after it
    assert (await at(NOW + timedelta(minutes=20)))["hot"] == "high"
    assert (await at(NOW + timedelta(minutes=20) + tick))["hot"] == "normal"
    # the closing window opens 24 h before the end
    assert (await at(NOW + timedelta(hours=6) - tick))["closing"] == "normal"
    before = await _versions(conn)
    assert (await at(NOW + timedelta(hours=6)))["closing"] == "high"
    after = await _versions(conn)
    assert {m for m in before if before[m] != after[m]} == {closing}
    # a resolved market leaves its last pass 7 days after resolving
    assert (await at(NOW + timedelta(days=1)))["resolved"] == "low"
    assert (await at(NOW + timedelta(days=1) + tick))["resolved"] == "archived"
    # and past its end, the closing market is an open one like the rest
    got = await at(NOW + timedelta(hours=30))
    assert (got["closing"], got["steady"]) == ("normal", "normal")


async def test_nothing_due_reads_and_writes_nothing(conn: asyncpg.Connection) -> None:
    s = Settings()
    for n in range(5):
        await add_market(conn, f"m{n}", volume_24h=10 * n, end_at=NOW + timedelta(days=n + 30))
    await recompute_priorities(conn, "kalshi", s, NOW)
    before = await _versions(conn)
    for minutes in (1, 10, 60):
        assert await recompute_priorities(conn, "kalshi", s, NOW + timedelta(minutes=minutes)) == 0
    assert await _versions(conn) == before
    due = await conn.fetchval(
        "SELECT count(*) FROM silver.market_sync WHERE priority_until <= $1",
        NOW + timedelta(hours=1),
    )
    assert due == 0


async def test_a_large_change_settles_over_batches(
    conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(priority, "PRIORITY_BATCH", 2)
    for n in range(5):
        await add_market(conn, f"m{n}", volume_24h=5000)
    s = Settings()
    assert [await recompute_priorities(conn, "kalshi", s, NOW) for _ in range(4)] == [2, 2, 1, 0]
    assert set((await priorities(conn)).values()) == {"high"}


async def test_a_clock_gone_back_rederives_everything(conn: asyncpg.Connection) -> None:
    s = Settings()
    await add_market(conn, "m", volume_24h=10, interest_at=NOW - timedelta(minutes=50))
    await recompute_priorities(conn, "kalshi", s, NOW)
    assert (await priorities(conn))["m"] == "normal"  # interest cooled
    await recompute_priorities(conn, "kalshi", s, NOW - timedelta(minutes=30))
    assert (await priorities(conn))["m"] == "high"


async def test_workers_whose_clocks_differ_a_little_rederive_only_what_is_due(
    conn: asyncpg.Connection,
) -> None:
    s = Settings()
    await add_market(conn, "m", volume_24h=10)
    first = await priority.apply_priority_rules(conn, "kalshi", s, NOW)
    assert (first.everything, first.written) == (False, 1)
    behind = await priority.apply_priority_rules(conn, "kalshi", s, NOW - timedelta(seconds=2))
    assert (behind.everything, behind.written) == (False, 0)
    back = await priority.apply_priority_rules(conn, "kalshi", s, NOW - timedelta(minutes=5))
    assert back.everything
    moved = await priority.apply_priority_rules(
        conn, "kalshi", Settings(high_volume_24h_usd=5), NOW
    )
    assert (moved.everything, moved.changed) == (True, 1)
