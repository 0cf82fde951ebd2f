"""`predhub status`: staleness per venue and priority, usage against budget, queues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from rich.console import Console

from predhub.scheduler import jobs
from predhub.scheduler.cadence import DataKind
from predhub.scheduler.status import collect_status, human_seconds, render
from predhub.settings import Settings
from predhub.venues import budget

from .helpers import add_market

NOW = datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC)


async def test_status_reports_staleness_usage_and_queues(pool: asyncpg.Pool) -> None:
    for i, age in enumerate((10, 20, 30, 40, 1000)):
        await add_market(pool, f"k{i}", quotes_synced_at=NOW - timedelta(seconds=age))
    await add_market(pool, "never")
    await pool.execute(
        "UPDATE silver.market_sync SET sync_priority = 'high'"
        " WHERE market_id = (SELECT id FROM silver.markets WHERE native_id = 'k0')"
    )
    await budget.book(pool, "kalshi", now=NOW, requests=42, errors=3)
    await budget.book(pool, "kalshi", now=NOW - timedelta(minutes=5), requests=8)
    await jobs.enqueue(pool, [jobs.NewJob("kalshi", "quotes", "a", (1,))], now=NOW)
    await pool.execute(
        "INSERT INTO ops.quarantine (venue, endpoint, reason) VALUES ('kalshi', '/markets', 'bad')"
    )
    report = await collect_status(pool, Settings(), NOW)

    rows = {(p.venue, p.priority): p for p in report.priorities}
    normal = rows[("kalshi", "normal")]
    assert normal.markets == 5
    q = normal.staleness[DataKind.QUOTES]
    assert q.p50 == 35.0 and q.never == 1 and q.p95 is not None and 800 < q.p95 < 1000
    assert rows[("kalshi", "high")].staleness[DataKind.QUOTES].p50 == 10.0
    assert normal.staleness[DataKind.TRADES].p50 is None
    k = report.venues["kalshi"]
    assert (k.requests_last_minute, k.requests_last_hour, k.errors_last_hour) == (42, 50, 3)
    assert k.budget_per_minute == budget.budget_per_minute("kalshi", Settings())
    assert (k.jobs_queued, k.quarantined) == (1, 1)
    assert set(report.venues) >= {"polymarket", "kalshi", "limitless", "opinion"}

    console = Console(record=True, width=200)
    render(report, console)
    text = console.export_text()
    assert "kalshi" in text and "35s / " in text and "(1 never)" in text and "42 (" in text


def test_human_seconds() -> None:
    assert [human_seconds(v) for v in (None, 5, 600, 7200, 200_000)] == [
        "-",
        "5s",
        "10m",
        "2.0h",
        "2.3d",
    ]


async def test_unstarted_jobs_are_dropped_for_replanning(pool: asyncpg.Pool) -> None:
    planned = [jobs.NewJob("kalshi", "quotes", f"p{i}", (i,), cycle=1) for i in range(3)]
    load = jobs.NewJob("kalshi", "static_load", "load")
    await jobs.enqueue(pool, [*planned, load], now=NOW)
    (running,) = await jobs.claim(pool, "kalshi", "w", now=NOW, lease_seconds=60)
    assert running.dedupe_key == "p0"  # equal priorities: the oldest first
    assert await jobs.drop_unstarted(pool, "kalshi") == 2  # p1 and p2; not the load, not p0
    left = {r["dedupe_key"] for r in await pool.fetch("SELECT dedupe_key FROM ops.jobs")}
    assert "load" in left and running.dedupe_key in left
