"""Freshness within a budget: p95 quote staleness per priority against its target.

A simulated Polymarket with N active markets (default 5,000), a request budget
of R requests per second (default 10, shared by every data kind the engine
polls), and M simulated minutes (default 10). The engine runs on an injected
clock that moves in step with the simulator's `advance`, so ten simulated
minutes take a minute or two of wall time. Every cycle the quote age of every
market is sampled; the report gives the median and p95 age per priority next
to the priority's cadence (its target), the requests spent against the budget,
and whether the budget was ever exceeded.

Usage: python bench/freshness.py [--markets N] [--rps R] [--minutes M] [--quotes-only]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from predhub.db import migrate
from predhub.db.connect import connect, create_pool
from predhub.db.embedded import EmbeddedPostgres
from predhub.ingest.pipeline import Ingestor
from predhub.logging import configure_logging
from predhub.models import SyncPriority
from predhub.scheduler.cadence import PRIORITY_ORDER, Cadences, DataKind
from predhub.scheduler.worker import VenueWorker
from predhub.sim.config import SimConfig
from predhub.sim.testing import running_simulator
from predhub.venues.budget import budget_per_minute
from predhub.venues.registry import build_venue


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, url: str) -> None:
    conn = await connect(url)
    await migrate.upgrade(conn)
    await conn.close()
    config = SimConfig.small(
        polymarket_markets=args.markets,
        polymarket_events=max(1, args.markets // 4),
        kalshi_markets=0,
        limitless_markets=0,
        opinion_markets=0,
        seed=args.seed,
    )
    with running_simulator(config) as sim:
        settings = sim.settings(
            enabled_venues="polymarket",
            venue_request_budgets=f"polymarket={args.rps}",
            worker_budget_share=1.0,
            rate_limit_scale=1.0,  # the budget is this run's parameter, not a venue's limit
            scheduler_cycle_seconds=args.cycle,
        )
        pool = await create_pool(url, min_size=2, max_size=12)
        venue = build_venue("polymarket", settings)
        ingestor = Ingestor(pool, venue, settings)
        started = time.perf_counter()
        await ingestor.static_load()
        load_seconds = time.perf_counter() - started
        await pool.execute("DELETE FROM ops.venue_usage")

        clock = SimClock(datetime.now(UTC).replace(microsecond=0))

        async def wait(seconds: float) -> None:
            """A job waiting for the next minute's budget: simulated time passes."""
            clock.now += timedelta(seconds=seconds)
            await asyncio.to_thread(sim.advance, seconds)

        worker = VenueWorker(pool, venue, ingestor, settings, clock=clock, sleep=wait, restamp=True)
        if args.quotes_only:
            worker.kinds = [DataKind.QUOTES]
        await pool.execute(
            "INSERT INTO ops.sync_state (venue, kind, watermark) "
            "SELECT 'polymarket', k, '99999999999' FROM unnest($1::text[]) k",
            ["schedule:delta_load", "schedule:resolution_sweep", "schedule:static_load"],
        )  # the periodic loads are not what this bench measures
        ages: dict[str, list[float]] = {p.value: [] for p in PRIORITY_ORDER}
        steps = int(args.minutes * 60 / args.cycle)
        sim_started = time.perf_counter()
        for step in range(steps):
            await worker.cycle()
            if step * args.cycle >= args.warmup * 60:
                await sample(pool, clock.now, ages)
            clock.now += timedelta(seconds=args.cycle)
            sim.advance(args.cycle)
        wall = time.perf_counter() - sim_started
        usage = await pool.fetch("SELECT minute, requests FROM ops.venue_usage ORDER BY minute")
        counts = await pool.fetch(
            "SELECT sync_priority, count(*) AS n FROM silver.markets GROUP BY 1"
        )
        await venue.close()
        await pool.close()

    cap = budget_per_minute("polymarket", settings)
    cadences = Cadences.from_settings(settings)
    n = {r["sync_priority"]: r["n"] for r in counts}
    print(
        f"markets {sum(n.values())} (static load {load_seconds:.1f}s), budget {args.rps} req/s "
        f"= {cap}/min, {args.minutes} simulated min in {wall:.1f}s wall "
        f"({'quotes only' if args.quotes_only else 'all data kinds'})"
    )
    print(f"{'priority':<10}{'markets':>9}{'target':>9}{'median':>9}{'p95':>9}  met")
    for p in PRIORITY_ORDER:
        target = cadences.get(SyncPriority(p), DataKind.QUOTES)
        values = ages[p.value]
        if not values or target is None:
            print(f"{p.value:<10}{n.get(p.value, 0):>9}{'-':>9}{'-':>9}{'-':>9}  -")
            continue
        p95 = percentile(values, 0.95)
        print(
            f"{p.value:<10}{n.get(p.value, 0):>9}{target:>8.0f}s{statistics.median(values):>8.0f}s"
            f"{p95:>8.0f}s  {'yes' if p95 <= target else 'NO'}"
        )
    per_minute = [r["requests"] for r in usage]
    over = [v for v in per_minute if v > cap]
    print(
        f"requests {sum(per_minute)} in {len(per_minute)} min (max {max(per_minute, default=0)}/min, "
        f"cap {cap}/min); minutes over budget: {len(over)}"
    )


async def sample(pool: asyncpg.Pool, now: datetime, ages: dict[str, list[float]]) -> None:
    rows = await pool.fetch(
        "SELECT sync_priority, extract(epoch FROM $1 - quotes_synced_at) AS age "
        "FROM silver.markets WHERE status = 'open' AND quotes_synced_at IS NOT NULL",
        now,
    )
    for r in rows:
        ages[r["sync_priority"]].append(max(0.0, float(r["age"])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markets", type=int, default=5000)
    parser.add_argument("--rps", type=float, default=10.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cycle", type=float, default=5.0, help="simulated seconds per cycle")
    parser.add_argument("--warmup", type=float, default=0.0, help="simulated minutes not sampled")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quotes-only", action="store_true")
    parser.add_argument("--database-url", help="an existing server (default: embedded)")
    args = parser.parse_args()
    configure_logging("WARNING", False)
    if args.database_url:
        asyncio.run(run(args, args.database_url))
        return
    root = Path(tempfile.mkdtemp(prefix="predhub-bench-"))
    server = EmbeddedPostgres(root)
    try:
        asyncio.run(run(args, server.ensure_running().url))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
