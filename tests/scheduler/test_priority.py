"""Priority rules, applied set-based to a venue's markets in real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

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
