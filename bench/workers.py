"""Worker processes against one database: jobs per second and staleness at a fixed budget.

`predhub worker` processes share a venue's work through leased jobs, one
planning lock per venue and one request budget kept in the database. This
runs 1, 2 and 4 of them (separate OS processes, as on separate machines)
against one PostgreSQL and one simulated Polymarket (real time, N active
markets, the venue's budget fixed at R requests per second for them all),
each run on a fresh database after the same static load. After a warm-up it
samples, every 2 s, the quote age of every open market (high priority
apart), and counts the jobs finished, the jobs failed and the requests spent
in the measured window. The ratio is each run's jobs per second against one
worker's, in the same invocation.

With the budget fixed, more processes cannot fetch more: the figure shows
that they share it without losing throughput to contention (leases, the
planning lock, the budget rows) and without spending it twice, and what a
second or fourth process buys in staleness when one is not enough.

Usage: python bench/workers.py [--markets N] [--rps R] [--seconds S] [--warmup W]
                               [--processes 1,2,4] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from _scratch import run_on_server
from predhub.db import migrate
from predhub.db.connect import connect, create_pool
from predhub.ingest.pipeline import Ingestor
from predhub.logging import configure_logging
from predhub.sim.config import SimConfig
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.registry import build_venue

VENUE = "polymarket"
SAMPLE_SECONDS = 2.0
# The periodic loads run on their own schedule (hours apart): not what this measures.
PERIODIC = ["schedule:delta_load", "schedule:resolution_sweep", "schedule:static_load"]


@dataclass
class RunResult:
    processes: int
    seconds: float
    jobs: int
    failed: int
    requests: int
    busiest_minute: int  # the most requests booked in one minute of the run (budget check)
    markets_refreshed: int
    p50_age: float
    p95_age: float
    p95_high: float | None

    @property
    def jobs_per_second(self) -> float:
        return self.jobs / self.seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def prepare(url: str, env: dict[str, str], args: argparse.Namespace) -> None:
    """Schema, the static load (done once here, not timed), the periodic loads marked done."""
    conn = await connect(url)
    try:
        await migrate.upgrade(conn)
    finally:
        await conn.close()
    settings_env = {k.lower(): v for k, v in env.items()}
    from predhub.settings import Settings

    settings = Settings(_env_file=None, **settings_env)  # type: ignore[call-arg]
    pool = await create_pool(url, min_size=1, max_size=4)
    venue = build_venue(VENUE, settings)
    try:
        await Ingestor(pool, venue, settings).static_load()
        await pool.execute(
            "INSERT INTO ops.sync_state (venue, kind, watermark) "
            "SELECT $1, k, '99999999999' FROM unnest($2::text[]) k",
            VENUE,
            PERIODIC,
        )
        await pool.execute("DELETE FROM ops.venue_usage")
    finally:
        await venue.close()
        await pool.close()


def start_workers(n: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = open(logs / f"worker-{n}-{i}.log", "wb")  # noqa: SIM115 - kept for the process
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "predhub", "worker", "--venue", VENUE],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def measure(
    url: str, n: int, env: dict[str, str], args: argparse.Namespace, sim: SimHandle
) -> RunResult:
    logs = Path(args.logs)
    procs = start_workers(n, env, logs)
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        await asyncio.sleep(args.warmup)
        for proc in procs:
            if proc.poll() is not None:
                raise SystemExit(f"a worker exited ({proc.returncode}); see {logs}")
        start = await pool.fetchval("SELECT now()")
        served_before = await asyncio.to_thread(sim.count, VENUE)
        ages: list[float] = []
        high: list[float] = []
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            rows = await pool.fetch(
                "SELECT s.sync_priority = 'high' AS high,"
                " extract(epoch FROM now() - s.quotes_synced_at)::float8 AS age"
                " FROM silver.markets m JOIN silver.market_sync s ON s.market_id = m.id"
                " WHERE m.venue = $1 AND m.status = 'open'"
                " AND s.quotes_synced_at IS NOT NULL",
                VENUE,
            )
            for r in rows:
                ages.append(max(0.0, r["age"]))
                if r["high"]:
                    high.append(max(0.0, r["age"]))
            await asyncio.sleep(SAMPLE_SECONDS)
        row = await pool.fetchrow(
            "SELECT now() AS at,"
            " count(*) FILTER (WHERE status = 'done') AS done,"
            " count(*) FILTER (WHERE status = 'failed') AS failed,"
            " coalesce(sum(cardinality(market_ids)) FILTER (WHERE status = 'done'), 0) AS markets"
            " FROM ops.jobs WHERE venue = $1 AND finished_at >= $2",
            VENUE,
            start,
        )
        assert row is not None
        # what the venue served in the window (the budget rows count whole minutes)
        requests = await asyncio.to_thread(sim.count, VENUE) - served_before
        busiest = await pool.fetchval(
            "SELECT coalesce(max(requests), 0) FROM ops.venue_usage WHERE venue = $1", VENUE
        )
        return RunResult(
            processes=n,
            seconds=(row["at"] - start).total_seconds(),
            jobs=int(row["done"]),
            failed=int(row["failed"]),
            requests=int(requests),
            busiest_minute=int(busiest),
            markets_refreshed=int(row["markets"]),
            p50_age=percentile(ages, 0.5) if ages else float("nan"),
            p95_age=percentile(ages, 0.95) if ages else float("nan"),
            p95_high=percentile(high, 0.95) if high else None,
        )
    finally:
        stop_workers(procs)
        await pool.close()


async def bench(args: argparse.Namespace, server_url: str) -> None:
    admin = await asyncpg.connect(server_url)
    results: list[RunResult] = []
    try:
        for n in args.processes:
            config = SimConfig.small(
                polymarket_markets=args.markets,
                polymarket_events=max(1, args.markets // 4),
                kalshi_markets=0,
                limitless_markets=0,
                opinion_markets=0,
                seed=args.seed,
                speed=1.0,
                latency_scale=args.latency,
            )
            name = f"predhub_bench_workers_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            url = server_url.rsplit("/", 1)[0] + "/" + name
            try:
                with running_simulator(config) as sim:
                    env = {
                        **os.environ,
                        **sim.env,
                        "DATABASE_URL": url,
                        "ENABLED_VENUES": VENUE,
                        "VENUE_REQUEST_BUDGETS": f"{VENUE}={args.rps:g}",
                        "WORKER_BUDGET_SHARE": "1",
                        "RATE_LIMIT_SCALE": "1",
                        "DB_POOL_MAX": "6",
                        "LOG_LEVEL": "WARNING",
                        "LOG_JSON": "true",
                    }
                    await prepare(url, {k: v for k, v in env.items() if k in sim.env}, args)
                    result = await measure(url, n, env, args, sim)
                    results.append(result)
                    print(
                        f"  {n} process(es): {result.jobs} jobs in {result.seconds:.0f} s",
                        flush=True,
                    )
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
    report(results, args)


def report(results: list[RunResult], args: argparse.Namespace) -> None:
    base = results[0]
    print(
        f"\n{args.markets} simulated {VENUE} markets (real time, latency x{args.latency:g}),"
        f" budget {args.rps:g} req/s shared by all processes;"
        f" {args.seconds:.0f} s measured after {args.warmup:.0f} s warm-up"
    )
    print(
        f"{'processes':>9}{'jobs':>7}{'jobs/s':>8}{'ratio':>7}{'failed':>8}{'req/s':>7}"
        f"{'markets/s':>10}{'p50 age':>9}{'p95 age':>9}{'p95 high':>10}"
        f"{'busiest min':>12}"
    )
    cap = round(args.rps * 60)
    for r in results:
        ratio = r.jobs_per_second / base.jobs_per_second if base.jobs else float("nan")
        high = f"{r.p95_high:>9.1f}s" if r.p95_high is not None else f"{'-':>10}"
        print(
            f"{r.processes:>9}{r.jobs:>7}{r.jobs_per_second:>8.2f}{ratio:>7.2f}{r.failed:>8}"
            f"{r.requests / r.seconds:>7.1f}{r.markets_refreshed / r.seconds:>10.1f}"
            f"{r.p50_age:>8.1f}s{r.p95_age:>8.1f}s{high}"
            f"{r.busiest_minute:>6}/{cap:<5}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markets", type=int, default=2000)
    parser.add_argument("--rps", type=float, default=20.0, help="the venue budget, all processes")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured per run")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before measuring")
    parser.add_argument(
        "--processes",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[1, 2, 4],
        help="comma-separated process counts; the first is the baseline",
    )
    parser.add_argument("--latency", type=float, default=0.2, help="the simulator's latency scale")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="an existing server (default: embedded)")
    parser.add_argument("--logs", default=None, help="where the workers' logs go (default: temp)")
    args = parser.parse_args()
    configure_logging("WARNING", False)
    logs = Path(args.logs or tempfile.mkdtemp(prefix="predhub-bench-workers-"))
    logs.mkdir(parents=True, exist_ok=True)
    args.logs = str(logs)
    run_on_server(bench, args, args.database_url)


if __name__ == "__main__":
    main()
