"""The scheduler's planning cycle against large catalogues, seeded straight into PostgreSQL.

    python bench/planning.py                          # 5,500 / 55,000 / 550,000 markets
    python bench/planning.py --sizes 5500,55000 --json plan.json --label after-

`bench/scale.py --parts static,plan` measures the same cycle after a static
load through the simulator, which takes minutes at 55,000 markets and hours at
550,000. This benchmark writes the catalogue with one INSERT ... SELECT over
generate_series instead (triggers off, sync rows written beside), so the
largest size runs in a few minutes. The catalogue of one venue: 60 % open
(2 % trading above the high-volume line, end dates spread over 60 days either
side of now, so some close within a day), 10 % closed, 30 % resolved within
the last 120 days (most of them archived); quotes and metadata stamped within
the last two hours, trades within the last ten minutes.

Per size, in a scratch database (the embedded PostgreSQL in a temporary
directory, or a scratch database on DATABASE_URL's server):

- settling: planning cycles until no market's priority is due any more (every
  priority of a freshly seeded catalogue is), cycles and total seconds;
- one planning cycle of the settled venue (priorities, due pairs, the budget
  planner, the jobs queued): median and worst of 5 (goal < 100 ms at 550,000);
- of which the priority rules: median of 5;
- one planning cycle after 100 markets' inputs changed (their 24 h volume):
  median of 5 rounds, each with other markets;
- stamping 1,000 markets' quotes (what a finished quotes job writes): median
  of 5, and the share of those row updates that were HOT (no index written).

Figures are printed per size side by side with the ratio largest / smallest;
`--json` keeps them so a run of another version of predhub (the same script
with that version first on PYTHONPATH) adds its columns under its `--label`,
and the ratios are then per size, the last label's figure over the first's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from _figures import kept_results, side_by_side
from _scratch import scratch_database
from predhub.db.connect import create_pool

VENUE = "polymarket"
RUNS = 5
CHANGED = 100
STAMPED = 1_000
MAX_SETTLING = 200  # cycles

SEED_MARKETS = """
INSERT INTO silver.markets (venue, native_id, question, status, volume_24h, end_at, resolved_at)
SELECT $1, 'm' || g, 'Market ' || g || '?',
       CASE WHEN g % 10 < 6 THEN 'open' WHEN g % 10 = 6 THEN 'closed' ELSE 'resolved' END,
       CASE WHEN g % 50 = 0 THEN 5000 ELSE g % 900 END,
       $2::timestamptz + ((g * 7919) % 2880 - 1440) * interval '1 hour',
       CASE WHEN g % 10 >= 7 THEN $2::timestamptz - ((g * 31) % 120) * interval '1 day' END
FROM generate_series(1::bigint, $3) AS g
"""

SEED_SYNC = """
INSERT INTO silver.market_sync (market_id, venue, metadata_synced_at, quotes_synced_at,
                                trades_synced_at)
SELECT id, venue, $1::timestamptz - (id * 13 % 7200) * interval '1 second',
       $1::timestamptz - (id * 17 % 7200) * interval '1 second',
       $1::timestamptz - (id * 19 % 600) * interval '1 second'
FROM silver.markets ORDER BY id
"""

# Versions with a stored "priority until" say how many priorities are still due.
HAS_UNTIL = """
SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'silver'
               AND table_name = 'market_sync' AND column_name = 'priority_until')
"""
DUE_PRIORITIES = """
SELECT count(*) FROM silver.market_sync WHERE venue = $1 AND priority_until <= $2
"""

OPEN_MARKETS = """
SELECT market_id FROM silver.market_sync s JOIN silver.markets m ON m.id = s.market_id
WHERE m.status = 'open' ORDER BY (market_id * 2654435761) % 1000003 LIMIT $1
"""

CHANGE_VOLUME = "UPDATE silver.markets SET volume_24h = volume_24h + 1 WHERE id = ANY($1::bigint[])"

STAMP_QUOTES = (
    "UPDATE silver.market_sync SET quotes_synced_at = $2 WHERE market_id = ANY($1::bigint[])"
)

HOT_SHARE = """
SELECT pg_stat_get_xact_tuples_hot_updated('silver.market_sync'::regclass)::float8
       / nullif(pg_stat_get_xact_tuples_updated('silver.market_sync'::regclass), 0)
"""


async def seed(pool: asyncpg.Pool, size: int, now: datetime) -> None:
    """The catalogue and its sync rows, written with the triggers off (as a restore would)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(SEED_MARKETS, VENUE, now, size)
        await conn.execute(SEED_SYNC, now)
    await pool.execute("VACUUM ANALYZE silver.markets")
    await pool.execute("VACUUM ANALYZE silver.market_sync")


async def measure(size: int) -> dict[str, float]:
    from predhub.scheduler.priority import recompute_priorities
    from predhub.scheduler.worker import VenueWorker
    from predhub.settings import Settings
    from predhub.venues.registry import build_venue

    figures: dict[str, float] = {}

    def put(name: str, value: float) -> None:
        figures[name] = value
        print(f"  [{size:,}] {name}: {value:,.3f}", flush=True)

    now = datetime.now(UTC).replace(microsecond=0)
    settings = Settings(enabled_venues=VENUE)
    async with scratch_database() as url:
        pool = await create_pool(url, min_size=2, max_size=4)
        venue = build_venue(VENUE, settings)
        try:
            started = time.perf_counter()
            await seed(pool, size, now)
            put("seeding s", time.perf_counter() - started)
            worker = VenueWorker(pool, venue, None, settings)  # type: ignore[arg-type]

            has_until = await pool.fetchval(HAS_UNTIL)
            started, cycles = time.perf_counter(), 0
            while cycles < MAX_SETTLING:
                await worker.plan_cycle(now)
                cycles += 1
                if not has_until or not await pool.fetchval(DUE_PRIORITIES, VENUE, now):
                    break
            put("1 settling: cycles", cycles)
            put("1 settling: total s", time.perf_counter() - started)
            await pool.execute("VACUUM ANALYZE silver.market_sync")  # as autovacuum would

            samples: list[float] = []
            queued = 0
            for _ in range(RUNS):
                started = time.perf_counter()
                report = await worker.plan_cycle(now)
                samples.append(time.perf_counter() - started)
                queued = report.enqueued
            put("2 planning cycle: median ms", 1000 * statistics.median(samples))
            put("2 planning cycle: worst ms", 1000 * max(samples))
            put("2 planning cycle: jobs queued", queued)

            samples = []
            for _ in range(RUNS):
                started = time.perf_counter()
                await recompute_priorities(pool, VENUE, settings, now)
                samples.append(time.perf_counter() - started)
            put("3 of which priorities: median ms", 1000 * statistics.median(samples))

            ids = [r[0] for r in await pool.fetch(OPEN_MARKETS, CHANGED * RUNS + STAMPED * RUNS)]
            samples = []
            for n in range(RUNS):
                await pool.execute(CHANGE_VOLUME, ids[n * CHANGED : (n + 1) * CHANGED])
                started = time.perf_counter()
                await worker.plan_cycle(now)
                samples.append(time.perf_counter() - started)
            put(
                f"4 cycle after {CHANGED} markets changed: median ms",
                1000 * statistics.median(samples),
            )

            samples, hot = [], []
            base = CHANGED * RUNS
            for n in range(RUNS):
                chunk = ids[base + n * STAMPED : base + (n + 1) * STAMPED]
                async with pool.acquire() as conn, conn.transaction():
                    started = time.perf_counter()
                    await conn.execute(STAMP_QUOTES, chunk, now + timedelta(seconds=n + 1))
                    samples.append(time.perf_counter() - started)
                    hot.append(await conn.fetchval(HOT_SHARE) or 0.0)
            put(f"5 stamp {STAMPED:,} quotes: median ms", 1000 * statistics.median(samples))
            put(f"5 stamp {STAMPED:,} quotes: HOT share", statistics.median(hot))
        finally:
            await venue.close()
            await pool.close()
    return figures


async def main_async(
    args: argparse.Namespace, results: dict[str, Any], save: Callable[[], None]
) -> None:
    for size in [int(s) for s in args.sizes.split(",")]:
        print(f"size {size:,} markets", flush=True)
        results[f"{args.label}{size:,}"] = await measure(size)
        save()
    print()
    print(side_by_side(results, cell=16))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5500,55000,550000", help="markets per run")
    parser.add_argument("--json", help="read earlier figures from, and add these to, this file")
    parser.add_argument("--label", default="", help="prefix of this run's column names")
    args = parser.parse_args()
    results, save = kept_results(args.json)

    asyncio.run(main_async(args, results, save))


if __name__ == "__main__":
    main()
