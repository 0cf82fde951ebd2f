"""The worker keeps gold and retention up on its own: one catch-up fills every gold table."""

from __future__ import annotations

import asyncpg

from predhub.scheduler.process import run_worker
from predhub.sim.testing import SimHandle


async def test_worker_refreshes_gold_and_prunes(sim: SimHandle, pool: asyncpg.Pool) -> None:
    settings = sim.settings(enabled_venues="kalshi")
    await run_worker(pool, settings, venues=["kalshi"], once=True, streams=False)
    held = await pool.fetchval("SELECT count(*) FROM silver.markets")
    assert held > 0
    assert await pool.fetchval("SELECT count(*) FROM gold.market_stats") == held
    assert await pool.fetchval("SELECT count(*) FROM ops.gold_changes") == 0
    assert await pool.fetchval("SELECT sum(markets) FROM gold.venue_stats") == held
    refreshed = await pool.fetch(
        "SELECT name FROM ops.gold_refresh WHERE last_finished_at IS NOT NULL ORDER BY name"
    )
    assert [r["name"] for r in refreshed] == ["hot", "match", "warm"]
    assert await pool.fetchval("SELECT count(*) FROM gold.top_markets_snapshot") > 0
    pruned = await pool.fetch("SELECT name FROM ops.retention_runs WHERE left(name, 1) <> '_'")
    assert {r["name"] for r in pruned} == {
        "raw_history",
        "book_snapshots",
        "jobs",
        "loads",
        "quarantine",
        "research_expired",
        "analyses_archived",
    }
