"""Backup and restore of the demo's database after a simulated week.

The demo's world (the simulator's default markets on every venue, seed 7) starts
a week in the past with its clock frozen; the hub loads it (static load), then
the clock is advanced a step at a time (`--step-hours`, 24) until it reaches
the present, and after each step the hub does what its worker does: a delta
load, the quotes of the busiest open markets (`--quote-markets` per venue, each
write a price-history point) and their trades (`--trade-markets`); the upkeep
(gold, matcher, retention) runs after the last step. The database then holds a
week of trades, quotes, price history and bronze pages.

Measured, all in one run, on an embedded server with WAL archiving on:

- `predhub db backup` (predhub.db.backup.backup: pg_dump, custom format) and
  `predhub db restore` (into an empty database, one transaction): time and size;
- the baseline: a plain `pg_dump -Fc` and `pg_restore` of the same database with
  the same binaries, into another empty database; the ratios are predhub's
  time over the baseline's;
- the base backup for point-in-time recovery (pg_basebackup, tar + gzip) and a
  point-in-time restore (unpack, replay the archived WAL, promote) to a moment
  after the last load, with the WAL archive's size.

Usage: python bench/backup.py [--days 7] [--step-hours 24] [--quote-markets 1000]
       [--trade-markets 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from predhub.db import backup, migrate, pitr
from predhub.db.connect import connect, create_pool
from predhub.db.embedded import EmbeddedPostgres, embedded_bin_dir, wal_dir
from predhub.ingest.pipeline import Ingestor
from predhub.logging import configure_logging
from predhub.scheduler.maintenance import upkeep_once
from predhub.settings import Settings
from predhub.sim.config import SimConfig
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.registry import build_venue

DAY = 86400.0


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


async def simulate_week(
    url: str, sim: SimHandle, days: float, step_hours: float, quotes: int, trades: int
) -> Settings:
    """Load the world, then follow it for `days` of simulated time, step by step."""
    settings: Settings = sim.settings(
        database_url=url,
        venue_request_budgets="polymarket=1000,kalshi=1000,limitless=1000,opinion=1000",
        http_max_retries=1,
        db_pool_max=8,
    )
    pool = await create_pool(url, min_size=1, max_size=8)
    venues = [build_venue(name, settings) for name in settings.venues]
    ingestors = [Ingestor(pool, venue, settings) for venue in venues]
    try:
        started = time.perf_counter()
        for ing in ingestors:
            await ing.static_load()
        print(f"  static load of every venue: {time.perf_counter() - started:.0f} s")
        steps = max(1, round(days * 24 / step_hours))
        for step in range(steps):
            clock = time.perf_counter()
            sim.advance(step_hours * 3600)
            for ing in ingestors:
                await ing.delta_load()
                busiest = [int(r["id"]) for r in await pool.fetch(BUSIEST, ing.name, quotes)]
                await ing.refresh_quotes(busiest)
                await ing.sync_trades(busiest[:trades])
            print(
                f"  step {step + 1}/{steps}: +{step_hours:g} h simulated,"
                f" {time.perf_counter() - clock:.0f} s",
                flush=True,
            )
        clock = time.perf_counter()
        await upkeep_once(pool, settings, "bench", lambda: datetime.now(UTC))
        print(f"  upkeep (gold, matcher, retention): {time.perf_counter() - clock:.0f} s")
    finally:
        for venue in venues:
            await venue.close()
        await pool.close()
    return settings


# The busiest open markets of a venue (all when the limit is NULL): the bench's own
# selection, the same the `predhub ingest trades` command makes.
BUSIEST = (
    "SELECT id FROM silver.markets WHERE venue = $1 AND status = 'open' "
    "ORDER BY volume_24h DESC NULLS LAST, id LIMIT $2"
)


async def census(url: str) -> tuple[int, dict[str, int]]:
    conn = await asyncpg.connect(url)
    try:
        size = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
        counts = {}
        for table in ("silver.markets", "silver.trades", "silver.quotes",
                      "silver.price_history", "bronze.raw_responses"):  # fmt: skip
            try:
                counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
            except asyncpg.PostgresError:
                continue
        return size, counts
    finally:
        await conn.close()


async def create_db(admin_url: str, name: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=7.0, help="simulated days")
    parser.add_argument("--step-hours", type=float, default=24.0, help="hours per load round")
    parser.add_argument("--quote-markets", type=int, default=1000, help="quotes per venue a step")
    parser.add_argument("--trade-markets", type=int, default=200, help="trades per venue a step")
    parser.add_argument("--pg-port", type=int, default=0, help="the bench server's port (0: free)")
    parser.add_argument("--sim-port", type=int, default=0, help="the simulator's port (0: free)")
    args = parser.parse_args()
    configure_logging("WARNING")
    # a SIGTERM (a timeout, a kill) still stops the bench's own server in `finally`
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="predhub-bench-backup-"))
    root.chmod(0o755)  # the server's own user (when run as root) reaches the archive
    archive = root / "archive"
    server = EmbeddedPostgres(root / "data", args.pg_port, wal_archive=archive, archive_timeout=0)
    running = server.ensure_running()
    url = running.url
    try:
        asyncio.run(_migrate(url))
        start = float(int(time.time() - args.days * DAY))
        config = SimConfig(seed=7, start=start, speed=0.0, latency_scale=0.0, rate_limits=False)
        with running_simulator(config, port=args.sim_port) as sim:
            print(f"simulating {args.days:g} days in {args.step_hours:g} h steps (demo world)")
            asyncio.run(
                simulate_week(
                    url, sim, args.days, args.step_hours, args.quote_markets, args.trade_markets
                )
            )
        asyncio.run(_touch(url))
        size, counts = asyncio.run(census(url))
        print(f"database: {mb(size)}; " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        run(url, root, archive)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _migrate(url: str) -> None:
    conn = await connect(url)
    try:
        await migrate.upgrade(conn)
    finally:
        await conn.close()


async def _touch(url: str) -> None:
    """A write after the base backup, so the point-in-time restore replays some WAL."""
    conn = await connect(url)
    try:
        await conn.execute("ANALYZE")
        await conn.execute("UPDATE silver.markets SET volume_24h = volume_24h WHERE id % 10 = 0")
    finally:
        await conn.close()


def run(url: str, root: Path, archive: Path) -> None:
    bins = embedded_bin_dir()
    dump = root / "predhub.dump"
    plain = root / "plain.dump"
    made = asyncio.run(backup.backup(url, dump))
    restored_into = asyncio.run(create_db(url, "restored"))
    restored = asyncio.run(backup.restore(restored_into, dump))
    base_dump = timed([str(bins / "pg_dump"), "-Fc", f"--file={plain}", f"--dbname={url}"])
    baseline_into = asyncio.run(create_db(url, "baseline"))
    base_restore = timed(
        [str(bins / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", f"--dbname={baseline_into}", str(plain)]
    )  # fmt: skip
    print("predhub db backup / restore against a plain pg_dump -Fc / pg_restore, same run:")
    print(
        f"  backup   {made.seconds:6.1f} s, {mb(made.bytes)}   plain {base_dump:6.1f} s,"
        f" {mb(plain.stat().st_size)}   time ratio {made.seconds / base_dump:.2f}"
    )
    print(
        f"  restore  {restored.seconds:6.1f} s ({restored.tables} tables, schema"
        f" {'current' if restored.schema_current else 'behind'})   plain {base_restore:6.1f} s"
        f"   time ratio {restored.seconds / base_restore:.2f}"
    )
    clock = time.perf_counter()
    base = asyncio.run(pitr.base_backup(url, archive))
    base_seconds = time.perf_counter() - clock
    asyncio.run(_touch(url))
    to = datetime.now(UTC)
    asyncio.run(pitr.archive_now(url))  # what came before `to`, and a commit after it
    result = asyncio.run(pitr.restore_to(archive, root / "pitr", to))
    print("point-in-time recovery (embedded server, WAL archiving on):")
    print(
        f"  base backup {base_seconds:6.1f} s, {mb(base.bytes)} (pg_basebackup, tar + gzip)"
        f"   vs plain pg_dump: time ratio {base_seconds / base_dump:.2f}"
    )
    print(
        f"  restore to a time {result.seconds:6.1f} s ({result.segments} WAL segments replayed,"
        f" archive {mb(folder_bytes(wal_dir(archive)))})   vs plain pg_restore: time ratio"
        f" {result.seconds / base_restore:.2f}"
    )
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)


if __name__ == "__main__":
    main()
