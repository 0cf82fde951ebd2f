"""Benchmarks of exports, compression and the Python client; figures and ratios are printed.

1. N trades of one market to Parquet through `predhub export` (CLI) and through
   `GET /v1/markets/{id}/trades?format=parquet` (HTTP), each against a plain
   `COPY (the same query) TO STDOUT (FORMAT binary)` in the same run: rows/s,
   the ratio (goal >= 0.5) and the exporting process's peak RSS (goal < 300 MB).
2. The 500-market page with and without compression: bytes and p99 latency.
3. 1,000 single-market reads through `Client` against bare httpx (goal <= 1.2x).

Everything runs on this machine: an embedded PostgreSQL (or --server, a
PostgreSQL URL whose server gets a scratch database) and `uvicorn` serving the
app in a subprocess.

Usage: python bench/export.py [--trades 1000000] [--server postgresql://...]
(10 million trades is the issue's goal; the default finishes in minutes.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import psutil

from predhub.client import Client
from predhub.db import migrate
from predhub.db.connect import connect, create_pool
from predhub.db.embedded import EmbeddedPostgres
from predhub.service import export
from predhub.service.testing import SeedMarket, seed_market

SINCE, UNTIL = "2025-01-01", "2026-01-01"


class PeakRss:
    """Polls a process's resident memory (its children too) until stopped."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                return
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


async def prepare(url: str, trades: int, markets: int) -> int:
    conn = await connect(url)
    try:
        await migrate.upgrade(conn)
        ids = [
            await seed_market(
                conn,
                SeedMarket(
                    venue="polymarket",
                    native_id=f"b{i}",
                    question=f"Benchmark market {i}?",
                    synced_ago=1,
                ),
            )
            for i in range(markets)
        ]
        outcome = await conn.fetchval(
            "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", ids[0]
        )
        await conn.execute(
            "INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size,"
            " side, executed_at, tx_hash)"
            " SELECT 'polymarket', $1, $2, 'k' || g, 0.01 + (g % 98) / 100.0, 1 + g % 500,"
            " CASE WHEN g % 2 = 0 THEN 'buy' ELSE 'sell' END,"
            " '2025-01-01'::timestamptz + make_interval(secs => (g - 1) * (31536000.0 / $3)),"
            " '0x' || md5(g::text) FROM generate_series(1, $3) g",
            ids[0],
            outcome,
            trades,
        )
        await conn.execute("VACUUM ANALYZE silver.trades")
        return int(ids[0])
    finally:
        await conn.close()


async def copy_binary(url: str, query: export.BulkQuery) -> tuple[int, float]:
    """Bytes and seconds of `COPY (query) TO STDOUT (FORMAT binary)` into nothing."""
    pool = await create_pool(url, min_size=1, max_size=2)
    size = 0
    try:
        started = time.perf_counter()
        async for chunk in export.copy_chunks(pool, query, fmt="binary"):
            size += len(chunk)
        return size, time.perf_counter() - started
    finally:
        await pool.close()


@contextmanager
def serve(url: str) -> Iterator[tuple[str, int]]:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "DATABASE_ONLY_MODE": "1"}
    cmd = [
        sys.executable, "-m", "uvicorn", "predhub.api.app:app_from_env", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] * 1000


def bench_exports(url: str, base: str, pid: int, market_id: int, trades: int) -> None:
    print(f"1. {trades:,} trades to Parquet, against COPY ... TO STDOUT (FORMAT binary)")
    # HTTP: one market's trades, streamed by the API process.
    _, copy_s = asyncio.run(copy_binary(url, export.market_trades(market_id)))
    watch = PeakRss(pid)
    started = time.perf_counter()
    size = 0
    with httpx.stream(
        "GET", f"{base}/v1/markets/{market_id}/trades", params={"format": "parquet"}, timeout=600
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
    http_s = time.perf_counter() - started
    peak = watch.stop()
    print(f"   COPY binary    {trades / copy_s:>12,.0f} rows/s")
    print(f"   HTTP parquet   {trades / http_s:>12,.0f} rows/s  ratio {copy_s / http_s:.2f} "
          f"(goal >= 0.5)  {size / 1e6:.1f} MB  API process peak RSS {peak / 1e6:.0f} MB "
          "(goal < 300)")  # fmt: skip
    # CLI: the venue's trades over the year, one file per 30 days.
    _, copy_s = asyncio.run(copy_binary(url, export.venue_trades("polymarket", *_range())))
    out = Path(tempfile.mkdtemp(prefix="predhub-bench-export-"))
    try:
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        cmd = [sys.executable, "-m", "predhub", "export", "trades", str(out), "--venue",
               "polymarket", "--since", SINCE, "--until", UNTIL, "--slice", "30d"]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
        watch = PeakRss(proc.pid)
        proc.wait()
        cli_s = time.perf_counter() - started
        peak = watch.stop()
        written = sum(f.stat().st_size for f in out.glob("*.parquet"))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"   COPY binary    {trades / copy_s:>12,.0f} rows/s")
    print(f"   CLI parquet    {trades / cli_s:>12,.0f} rows/s  ratio {copy_s / cli_s:.2f} "
          f"(goal >= 0.5; includes the command's start-up)  {written / 1e6:.1f} MB  "
          f"peak RSS {peak / 1e6:.0f} MB (goal < 300)")  # fmt: skip


def _range() -> tuple[object, object]:
    from predhub.service.when import parse_when

    return parse_when(SINCE), parse_when(UNTIL)


def bench_compression(base: str, rounds: int) -> None:
    print("2. the 500-market page, with and without compression")
    with httpx.Client(base_url=base, timeout=30) as http:
        for encoding in ("identity", "gzip", "br"):
            times: list[float] = []
            size = 0
            for _ in range(rounds):
                request = http.build_request(
                    "GET", "/v1/markets?limit=500", headers={"accept-encoding": encoding}
                )
                started = time.perf_counter()
                response = http.send(request, stream=True)
                size = len(response.read())  # decoded size; the wire size is below
                raw = int(response.headers.get("content-length", size))
                response.close()
                times.append(time.perf_counter() - started)
            print(f"   {encoding:<9} {raw:>9,} bytes on the wire ({size:,} decoded)  "
                  f"p50 {statistics.median(times) * 1000:6.1f} ms  p99 {p99(times):6.1f} ms")  # fmt: skip


def bench_client(base: str, market_id: int, reads: int) -> None:
    print(f"3. {reads:,} single-market reads: Client against bare httpx")
    path = f"/v1/markets/{market_id}/price"
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(50):
            http.get(path).raise_for_status()
        started = time.perf_counter()
        for _ in range(reads):
            http.get(path).json()
        bare = time.perf_counter() - started
    with Client(base) as hub:
        for _ in range(50):
            hub.price(market_id)
        started = time.perf_counter()
        for _ in range(reads):
            hub.price(market_id)
        client = time.perf_counter() - started
    print(f"   bare httpx {bare:.2f} s, Client {client:.2f} s: ratio {client / bare:.2f} "
          "(goal <= 1.2)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=100, help="requests per page measurement")
    parser.add_argument("--server", help="a PostgreSQL URL to create a scratch database on")
    args = parser.parse_args()
    print(f"run: --trades {args.trades:,} --markets {args.markets} --reads {args.reads} "
          f"--rounds {args.rounds}")  # fmt: skip
    root: Path | None = None
    embedded = None
    if args.server:
        server_url = args.server
    else:
        root = Path(tempfile.mkdtemp(prefix="predhub-bench-export-pg-"))
        embedded = EmbeddedPostgres(root)
        server_url = embedded.ensure_running().url
    name = f"predhub_bench_{uuid.uuid4().hex[:8]}"
    url = server_url.rsplit("/", 1)[0] + "/" + name

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        started = time.perf_counter()
        market_id = asyncio.run(prepare(url, args.trades, args.markets))
        print(f"set-up: {args.markets} markets, {args.trades:,} trades in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        with serve(url) as (base, pid):
            bench_exports(url, base, pid, market_id, args.trades)
            bench_compression(base, args.rounds)
            bench_client(base, market_id, args.reads)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if embedded is not None:
            embedded.stop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
