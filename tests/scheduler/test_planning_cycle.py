"""A worker's planning cycle, which ranks and chunks in PostgreSQL, queues the planner's jobs."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from predhub.models import SyncPriority
from predhub.scheduler.cadence import DataKind
from predhub.scheduler.planner import MarketState, plan
from predhub.scheduler.worker import VenueWorker
from predhub.settings import Settings
from predhub.venues.registry import build_venue

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MARKETS = 2400

# Every market's priority is settled (nothing for the rules to do); stamps spread from
# fresh to days old per kind, one in 37 never synced, so each priority and kind has due
# pairs, never-synced ones and more than the budget can take.
ADD_MARKETS = """
INSERT INTO silver.markets (venue, native_id, question, status)
SELECT 'kalshi', 'm' || g, 'Q ' || g || '?', 'open' FROM generate_series(1, $1) AS g
"""
SEED_SYNC = """
UPDATE silver.market_sync s
SET sync_priority = (ARRAY['high', 'normal', 'normal', 'low', 'low', 'archived'])[1 + m.id % 6],
    priority_until = 'infinity',
    quotes_synced_at = CASE WHEN m.id % 37 <> 0
                            THEN $1::timestamptz - (m.id * 7919 % 7200) * interval '1 second' END,
    trades_synced_at = $1::timestamptz - (m.id * 31 % 330) * interval '1 second',
    books_synced_at = CASE WHEN m.id % 41 <> 0
                           THEN $1::timestamptz - (m.id * 13 % 3600) * interval '1 second' END,
    metadata_synced_at = $1::timestamptz - (m.id * 17 % 400000) * interval '1 second'
FROM silver.markets m WHERE s.market_id = m.id
"""

STATES = """
SELECT market_id, sync_priority, quotes_synced_at, trades_synced_at, books_synced_at,
       metadata_synced_at
FROM silver.market_sync WHERE venue = 'kalshi'
"""


async def test_a_cycle_queues_what_the_planner_plans_over_every_market(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute(ADD_MARKETS, MARKETS)
    await pool.execute(SEED_SYNC, NOW)
    ids = [r[0] for r in await pool.fetch("SELECT id FROM silver.markets ORDER BY id")]
    busy = ids[:400:3]  # markets in a running quotes job are left out
    await pool.execute(
        "INSERT INTO ops.jobs (venue, kind, dedupe_key, market_ids, status, cost)"
        " VALUES ('kalshi', 'quotes', 'running', $1, 'running', 1)",
        busy,
    )
    states = [
        MarketState(
            r["market_id"],
            SyncPriority(r["sync_priority"]),
            {kind: r[f"{kind.value}_synced_at"] for kind in DataKind},
        )
        for r in await pool.fetch(STATES)
    ]
    settings = Settings(scheduler_cycle_seconds=1.5)  # a budget of 44 requests: it binds
    venue = build_venue("kalshi", settings)
    try:
        worker = VenueWorker(pool, venue, None, settings)  # type: ignore[arg-type]
        expected = plan(
            states,
            now=NOW,
            cadences=worker.cadences,
            profile=worker.profile,
            budget=worker.cycle_budget(),
            kinds=worker.kinds,
            busy={DataKind.QUOTES: set(busy)},
            lead_seconds=settings.scheduler_cycle_seconds,
        )
        report = await worker.plan_cycle(NOW)
    finally:
        await venue.close()

    queued = await pool.fetch(
        "SELECT kind, market_ids, cost FROM ops.jobs WHERE cycle = $1"
        " ORDER BY split_part(dedupe_key, ':', 4)::int",
        report.cycle,
    )
    assert len(expected) > 10
    assert len({(r.kind, r.priority) for r in expected}) >= 4  # kinds and priorities mix
    assert sum(r.cost for r in expected) == worker.cycle_budget()  # the budget binds
    assert [(r["kind"], tuple(r["market_ids"]), r["cost"]) for r in queued] == [
        (r.kind.value, r.market_ids, r.cost) for r in expected
    ]
    assert not set(busy) & {i for r in queued if r["kind"] == "quotes" for i in r["market_ids"]}
    assert report.enqueued == len(expected)
