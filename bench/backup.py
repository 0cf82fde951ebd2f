"""Backup and restore of the demo's database after a simulated week.

How the week is made. The demo's world (the simulator's default markets on every
venue, seed 7, its clock a week in the past) is loaded through the real pipeline
(static load: markets, outcomes, events, current quotes, bronze pages). The
week's time series are then written straight into the database, a simulated day
at a time, in the shape the worker writes them (going through the simulator and
the pipeline for every day takes about 10 minutes of CPU per day, more than this
bench may take on a loaded machine):

- price history: a point per outcome of the busiest `--quote-markets` open
  markets per venue every `--quote-minutes`, and the current quotes rewritten
  `--quote-updates` times a day (each update a new row version, as a refresh is);
- trades: `--trades-per-day` for each of the busiest `--trade-markets` markets per
  venue, spread over the day (250: the rate the simulator's markets traded at when
  a simulated day went through the pipeline, 202,973 trades for 800 markets), with a keyed id (and a transaction hash on
  Polymarket);
- bronze: the raw pages those came from, one per 100 trades of a market and one
  per 100 quoted markets of a venue per quote round, as JSON (trades' and points'
  `bronze_id` are left empty);
- the upkeep (gold, matcher, retention) runs once after the last day.

Measured, all in one run, on an embedded server with WAL archiving on:

- `predhub db backup` and `predhub db restore` (into an empty database, one
  transaction): time and size after the first day and after the week (the day is
  the baseline: the week's figures are given as a ratio to it), and with
  `--plain` a plain `pg_dump -Fc` / `pg_restore` of the week's database too;
- the WAL archive (gzipped segments): bytes written per simulated day, against
  the same segments uncompressed (16 MB each), which is what the archive held
  before segments were compressed;
- with `--pitr`, the base backup for point-in-time recovery (pg_basebackup, tar +
  gzip) and a point-in-time restore to a moment after the last write.

The default run takes 5 to 13 minutes on two cores shared with other work (load
average 5 to 19); `--plain` and `--pitr` add about 2 and 3 minutes under load.

Usage: python bench/backup.py [--days 7] [--quote-markets 1000] [--quote-minutes 60]
       [--trade-markets 200] [--trades-per-day 250] [--plain] [--pitr]
       [--pg-port 0] [--sim-port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from predhub.db import backup, migrate, partitions, pitr
from predhub.db.connect import connect, create_pool
from predhub.db.embedded import EmbeddedPostgres, embedded_bin_dir, wal_dir
from predhub.ingest.pipeline import Ingestor
from predhub.logging import configure_logging
from predhub.scheduler.maintenance import upkeep_once
from predhub.settings import Settings
from predhub.sim.config import SimConfig
from predhub.sim.testing import running_simulator
from predhub.venues.registry import build_venue

DAY = 86400.0
PAGE = 100  # trades or markets per bronze page


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


async def static_load(url: str, sim_port: int, start: float) -> None:
    """The demo's catalogue through the real pipeline, at the week's first moment."""
    config = SimConfig(seed=7, start=start, speed=0.0, latency_scale=0.0, rate_limits=False)
    with running_simulator(config, port=sim_port) as sim:
        settings: Settings = sim.settings(
            database_url=url,
            venue_request_budgets="polymarket=1000,kalshi=1000,limitless=1000,opinion=1000",
            http_max_retries=1,
            db_pool_max=8,
        )
        pool = await create_pool(url, min_size=1, max_size=8)
        venues = [build_venue(name, settings) for name in settings.venues]
        try:
            for venue in venues:
                await Ingestor(pool, venue, settings).static_load()
        finally:
            for venue in venues:
                await venue.close()
            await pool.close()


# The busiest open markets of each venue (the `predhub ingest trades` selection) and the
# outcomes the worker quotes, with a starting price; temporary, so never in a backup.
PICK_QUOTED = """
CREATE TEMP TABLE bench_quoted AS
SELECT o.id AS outcome_id, o.market_id, m.venue, m.native_id, o.idx,
       coalesce(q.price, 0.5)::float8 AS p0, m.rank
FROM (SELECT id, venue, native_id,
             row_number() OVER (PARTITION BY venue ORDER BY volume_24h DESC NULLS LAST, id)
             AS rank
      FROM silver.markets WHERE status = 'open') m
JOIN silver.outcomes o ON o.market_id = m.id
LEFT JOIN silver.quotes q ON q.outcome_id = o.id
WHERE m.rank <= $1
"""
PICK_TRADED = """
CREATE TEMP TABLE bench_traded AS
SELECT DISTINCT ON (market_id) market_id, venue, native_id, outcome_id, p0
FROM bench_quoted WHERE rank <= $1 ORDER BY market_id, idx
"""

# $1 day start, $2 points a day, $3 seconds between points
PRICE_HISTORY = """
INSERT INTO silver.price_history (outcome_id, ts, price, source)
SELECT b.outcome_id, $1::timestamptz + make_interval(secs => n * $3::float8),
       round(least(0.99, greatest(0.01, b.p0 + 0.05 * sin(b.outcome_id + n / 7.0)
             + 0.01 * (random() - 0.5)))::numeric, 4), 'venue'
FROM bench_quoted b, generate_series(0, $2::int - 1) AS n
"""

# $1 the update's time
QUOTES = """
UPDATE silver.quotes q
SET price = v.p, mid = v.p, best_bid = greatest(0, v.p - 0.01),
    best_ask = least(1, v.p + 0.01), observed_at = $1, fetched_at = $1
FROM (SELECT outcome_id, round(least(0.99, greatest(0.01, p0 + 0.05
             * sin(outcome_id + extract(epoch FROM $1::timestamptz) / 25200)))::numeric, 4) AS p
      FROM bench_quoted) v
WHERE q.outcome_id = v.outcome_id
"""

# $1 day start, $2 trades per market a day
TRADES = """
INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size, side,
                           executed_at, tx_hash)
SELECT t.venue, t.market_id, t.outcome_id,
       t.native_id || '-' || to_char($1::timestamptz, 'YYYYMMDD') || '-' || n,
       round(least(0.99, greatest(0.01, t.p0 + 0.05 * sin(n / 50.0)))::numeric, 3),
       round((1 + random() * 500)::numeric, 2), CASE WHEN n % 2 = 0 THEN 'buy' ELSE 'sell' END,
       $1::timestamptz + make_interval(secs => (n + random()) * 86400.0 / $2::int),
       CASE WHEN t.venue = 'polymarket' THEN '0x' || md5(t.market_id || ':' || n)
            || md5($1::text || n) END
FROM bench_traded t, generate_series(0, $2::int - 1) AS n
"""

# The trades' raw pages: $1 day start, $2 day end (the fetch)
TRADE_PAGES = """
INSERT INTO bronze.api_responses (venue, endpoint, params, status, fetched_at, fetched_day,
                                  content_hash, payload)
SELECT venue, 'trades', jsonb_build_object('market', native_id, 'page', page), 200, $2,
       ops.partition_start('day', $2), sha256(convert_to(body::text, 'UTF8')), body
FROM (SELECT b.venue, b.native_id, x.page,
             jsonb_agg(jsonb_build_object('id', x.trade_key, 'price', x.price, 'size', x.size,
                       'side', x.side, 'timestamp', extract(epoch FROM x.executed_at)::bigint,
                       'transactionHash', x.tx_hash)) AS body
      FROM (SELECT t.*, (row_number() OVER (PARTITION BY t.market_id ORDER BY t.executed_at)
                         - 1) / 100 AS page
            FROM silver.trades t
            WHERE t.executed_at >= $1 AND t.executed_at < $2
              AND t.market_id IN (SELECT market_id FROM bench_traded)) x
      JOIN bench_traded b USING (market_id)
      GROUP BY b.venue, b.native_id, x.page) pages
"""

# The quote rounds' raw pages: $1 day start, $2 rounds a day, $3 seconds between rounds
QUOTE_PAGES = """
INSERT INTO bronze.api_responses (venue, endpoint, params, status, fetched_at, fetched_day,
                                  content_hash, payload)
SELECT venue, 'prices', jsonb_build_object('page', page), 200, at,
       ops.partition_start('day', at), sha256(convert_to(body::text, 'UTF8')), body
FROM (SELECT b.venue, (b.rank - 1) / 100 AS page,
             $1::timestamptz + make_interval(secs => n * $3::float8) AS at,
             jsonb_agg(jsonb_build_object('market', b.native_id, 'outcome', b.idx,
                       'price', round((b.p0 + 0.01 * sin(n + b.outcome_id))::numeric, 4),
                       'at', extract(epoch FROM $1::timestamptz)::bigint + n * $3::int)) AS body
      FROM bench_quoted b, generate_series(0, $2::int - 1) AS n
      GROUP BY b.venue, (b.rank - 1) / 100, n) pages
"""


@dataclass
class Archive:
    """The WAL archive's size as written (gzipped) and as the same segments uncompressed."""

    packed: int
    segments: int
    segment_bytes: int

    @property
    def raw(self) -> int:
        return self.segments * self.segment_bytes


async def archive_state(url: str, archive: Path) -> Archive:
    """Close the current segment, wait until it is archived, and size the archive."""
    note = await pitr.archive_now(url, wait_seconds=900)
    if note:
        print(f"  note: {note}")
    conn = await connect(url)
    try:
        size = int(await conn.fetchval("SELECT setting::int FROM pg_settings"
                                       " WHERE name = 'wal_segment_size'"))  # fmt: skip
    finally:
        await conn.close()
    files = [p for p in wal_dir(archive).iterdir() if p.is_file()]
    segments = [p for p in files if len(p.name.split(".")[0]) == 24 and p.name.count(".") <= 1]
    return Archive(sum(p.stat().st_size for p in files), len(segments), size)


async def write_day(
    conn: asyncpg.Connection, day_start: datetime, args: argparse.Namespace
) -> None:
    """One simulated day of what the worker writes, in a transaction per kind."""
    day_end = day_start + timedelta(days=1)
    times = [day_start, day_end - timedelta(seconds=1), day_end]
    for parent in partitions.PARENTS:
        await partitions.ensure(conn, parent, times)
    every = args.quote_minutes * 60.0
    rounds = max(1, round(DAY / every))
    await conn.execute(PRICE_HISTORY, day_start, rounds, every)
    for n in range(args.quote_updates):
        await conn.execute(
            QUOTES, day_start + timedelta(seconds=(n + 1) * DAY / args.quote_updates)
        )
    await conn.execute(QUOTE_PAGES, day_start, rounds, every)
    await conn.execute(TRADES, day_start, args.trades_per_day)
    await conn.execute(TRADE_PAGES, day_start, day_end)


async def census(url: str) -> tuple[int, dict[str, int]]:
    conn = await asyncpg.connect(url)
    try:
        size = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
        counts = {}
        for table in ("silver.markets", "silver.trades", "silver.quotes",
                      "silver.price_history", "bronze.api_responses"):  # fmt: skip
            counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        return size, counts
    finally:
        await conn.close()


async def create_db(admin_url: str, name: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_db(admin_url: str, name: str) -> None:
    """Restored copies go before the base backup, which copies every database."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class Round:
    """One backup and restore of the database: seconds and bytes."""

    db_bytes: int
    backup_seconds: float
    backup_bytes: int
    restore_seconds: float


async def backup_and_restore(url: str, root: Path, label: str) -> Round:
    """`predhub db backup` of the database, then `predhub db restore` into an empty one."""
    size, counts = await census(url)
    print(f"{label}: database {mb(size)}; " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    dump = root / f"{label}.dump"
    made = await backup.backup(url, dump)
    into = await create_db(url, f"restored_{label}")
    restored = await backup.restore(into, dump)
    await drop_db(url, f"restored_{label}")
    dump.unlink()
    print(
        f"  predhub db backup {made.seconds:6.1f} s, {mb(made.bytes)};  predhub db restore"
        f" {restored.seconds:6.1f} s ({restored.tables} tables, schema"
        f" {'current' if restored.schema_current else 'behind'})",
        flush=True,
    )
    return Round(size, made.seconds, made.bytes, restored.seconds)


async def plain_round(url: str, root: Path, ours: Round) -> None:
    """A plain pg_dump -Fc / pg_restore of the same database with the same binaries."""
    bins = embedded_bin_dir()
    plain = root / "plain.dump"
    dump_seconds = await timed([str(bins / "pg_dump"), "-Fc", f"--file={plain}", f"--dbname={url}"])
    into = await create_db(url, "baseline")
    restore_seconds = await timed(
        [str(bins / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", f"--dbname={into}", str(plain)]
    )  # fmt: skip
    await drop_db(url, "baseline")
    print(
        f"  plain pg_dump -Fc {dump_seconds:6.1f} s, {mb(plain.stat().st_size)}"
        f" (ratio predhub/plain {ours.backup_seconds / dump_seconds:.2f});  plain pg_restore"
        f" {restore_seconds:6.1f} s (ratio {ours.restore_seconds / restore_seconds:.2f})"
    )
    plain.unlink()


async def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{Path(cmd[0]).name} failed: {err.decode()[-400:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=7, help="simulated days")
    parser.add_argument("--quote-markets", type=int, default=1000, help="quoted markets a venue")
    parser.add_argument("--quote-minutes", type=float, default=60.0, help="minutes between points")
    parser.add_argument("--quote-updates", type=int, default=24, help="quote rewrites a day")
    parser.add_argument("--trade-markets", type=int, default=200, help="traded markets a venue")
    parser.add_argument("--trades-per-day", type=int, default=250, help="trades a market a day")
    parser.add_argument("--plain", action="store_true", help="also plain pg_dump/pg_restore")
    parser.add_argument("--pitr", action="store_true", help="also a base backup and PITR")
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
    started = time.perf_counter()
    try:
        url = server.ensure_running().url
        asyncio.run(run(url, root, archive, args))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"whole run {time.perf_counter() - started:.0f} s; load average"
        f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


async def run(url: str, root: Path, archive: Path, args: argparse.Namespace) -> None:
    conn = await connect(url)
    try:
        await migrate.upgrade(conn)
    finally:
        await conn.close()
    start = datetime.fromtimestamp(int(time.time() - args.days * DAY) // 86400 * 86400, UTC)
    print(
        f"the demo's world, {args.days} days from {start:%Y-%m-%d};"
        " static load through the pipeline"
    )
    clock = time.perf_counter()
    await static_load(url, args.sim_port, start.timestamp())
    print(f"  static load of every venue: {time.perf_counter() - clock:.0f} s", flush=True)
    before = await archive_state(url, archive)
    per_day: list[tuple[int, int]] = []
    first: Round | None = None
    conn = await connect(url)
    try:
        await conn.execute(PICK_QUOTED, args.quote_markets)
        await conn.execute(PICK_TRADED, args.trade_markets)
        for day in range(args.days):
            clock = time.perf_counter()
            await write_day(conn, start + timedelta(days=day), args)
            after = await archive_state(url, archive)
            per_day.append((after.packed - before.packed, after.raw - before.raw))
            print(
                f"  day {day + 1}/{args.days} written: {time.perf_counter() - clock:.0f} s;"
                f" WAL archived {mb(per_day[-1][0])} gzipped ({mb(per_day[-1][1])} as plain"
                " segments)",
                flush=True,
            )
            if day == 0:
                first = await backup_and_restore(url, root, "day")
            before = await archive_state(url, archive)  # the restore's own WAL left out
    finally:
        await conn.close()
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        clock = time.perf_counter()
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        await upkeep_once(pool, settings, "bench", lambda: datetime.now(UTC))
        print(f"  upkeep (gold, matcher, retention): {time.perf_counter() - clock:.0f} s")
    finally:
        await pool.close()
    week = await backup_and_restore(url, root, "week" if args.days == 7 else f"{args.days}days")
    assert first is not None
    print(
        f"{args.days} days against 1 (same run): database x{week.db_bytes / first.db_bytes:.2f},"
        f" backup file x{week.backup_bytes / first.backup_bytes:.2f}, backup time"
        f" x{week.backup_seconds / first.backup_seconds:.2f}, restore time"
        f" x{week.restore_seconds / first.restore_seconds:.2f}"
    )
    if args.plain:
        clock = time.perf_counter()
        await plain_round(url, root, week)
        print(f"  (the plain round: {time.perf_counter() - clock:.0f} s of this run)")
    packed = sum(d[0] for d in per_day) / len(per_day)
    raw = sum(d[1] for d in per_day) / len(per_day)
    print(
        f"WAL archive per simulated day: {mb(packed)} gzipped against {mb(raw)} as plain"
        f" segments (x{raw / packed:.1f} smaller)"
    )
    if args.pitr:
        clock = time.perf_counter()
        await point_in_time(url, root, archive, week)
        print(f"  (point-in-time recovery: {time.perf_counter() - clock:.0f} s of this run)")


async def point_in_time(url: str, root: Path, archive: Path, week: Round) -> None:
    clock = time.perf_counter()
    base = await pitr.base_backup(url, archive)
    base_seconds = time.perf_counter() - clock
    conn = await connect(url)
    try:  # a write after the base backup, so the restore replays some WAL
        await conn.execute("UPDATE silver.markets SET volume_24h = volume_24h WHERE id % 10 = 0")
        to: datetime = await conn.fetchval("SELECT clock_timestamp()")
    finally:
        await conn.close()
    await pitr.archive_now(url, wait_seconds=900)
    result = await pitr.restore_to(archive, root / "pitr", to)
    print("point-in-time recovery (embedded server, WAL archiving on):")
    print(
        f"  base backup {base_seconds:6.1f} s, {mb(base.bytes)} (pg_basebackup, tar + gzip;"
        f" time x{base_seconds / week.backup_seconds:.2f} the week's predhub db backup)"
    )
    print(
        f"  restore to a time {result.seconds:6.1f} s ({result.segments} WAL segments replayed;"
        f" time x{result.seconds / week.restore_seconds:.2f} the week's predhub db restore)",
        flush=True,
    )


if __name__ == "__main__":
    main()
