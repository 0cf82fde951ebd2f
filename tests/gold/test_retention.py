"""Retention: each prune removes only what is past its setting, and status reports it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from rich.console import Console

from predhub.db import partitions
from predhub.scheduler import retention
from predhub.scheduler.status import collect_status, render
from predhub.settings import Settings


async def test_prunes_by_age_and_reports(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(hours=1)
    await pool.execute(
        "INSERT INTO ops.loads (venue, kind, started_at, status) VALUES"
        " ('kalshi', 'static', $1, 'done'), ('kalshi', 'static', $2, 'done'),"
        " ('kalshi', 'static', $1, 'running')",
        old,
        recent,
    )
    await pool.execute(
        "INSERT INTO ops.quarantine (venue, endpoint, reason, created_at) VALUES"
        " ('kalshi', '/m', 'bad', $1), ('kalshi', '/m', 'bad', $2)",
        old,
        recent,
    )
    await pool.execute(
        "INSERT INTO ops.jobs (venue, kind, dedupe_key, status, finished_at) VALUES"
        " ('kalshi', 'quotes', 'a', 'done', $1), ('kalshi', 'quotes', 'b', 'done', $2)",
        old,
        recent,
    )
    market = await pool.fetchval(
        "INSERT INTO silver.markets (venue, native_id, question) VALUES ('kalshi', 'K', 'q')"
        " RETURNING id"
    )
    outcome = await pool.fetchval(
        "INSERT INTO silver.outcomes (market_id, idx, label) VALUES ($1, 0, 'Yes') RETURNING id",
        market,
    )
    hour = (now - timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    stamps = [hour + timedelta(minutes=m) for m in (0, 10, 20)] + [
        now - timedelta(hours=2, minutes=m) for m in (0, 10)
    ]
    async with pool.acquire() as conn:  # rows written straight in need their days
        await partitions.ensure(conn, partitions.BOOKS, stamps)
    await pool.executemany(
        "INSERT INTO silver.order_book_snapshots (market_id, outcome_id, observed_at, fetched_at,"
        " bids, asks) VALUES ($1, $2, $3, $3, '[]', '[]')",
        [(market, outcome, t) for t in stamps],
    )
    pruned = await retention.run_due(pool, Settings(), now=now)
    assert pruned == {"book_snapshots": 2, "jobs": 1, "loads": 1, "quarantine": 1}
    assert await retention.run_due(pool, Settings(), now=now + timedelta(minutes=1)) is None
    kept = await pool.fetch("SELECT observed_at FROM silver.order_book_snapshots ORDER BY 1")
    assert [r["observed_at"] for r in kept] == [stamps[0], stamps[4], stamps[3]]
    report = await collect_status(pool, Settings(), now)
    rows = {p.name: p for p in report.prunes}
    assert rows["book_snapshots"].rows == 2 and rows["loads"].last_run_at == now
    console = Console(record=True, width=120)
    render(report, console)
    assert "book_snapshots" in console.export_text()
