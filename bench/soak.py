"""Soak the whole stack: a demo-like hub under mixed load for a long run.

Starts, as processes, an embedded PostgreSQL, the venue simulator
(`predhub sim`, a small world), a worker (`predhub worker`, every venue) and
the API (`predhub serve`, two processes); waits for the first markets; then
for `--seconds` keeps it busy with single-market reads, batch prices of 100
ids, searches and 200 WebSocket subscribers. It prints

* server errors (any 5xx or dropped connection; goal 0),
* the resident memory of every process at start (after a warm-up) and end
  (goal: flat within 10 %),
* p99 latency of the HTTP requests per minute (goal: steady).

Usage: python bench/soak.py [--seconds 600] [--readers 8] [--subscribers 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import orjson
import psutil

from predhub.db.embedded import EmbeddedPostgres
from predhub.sim.urls import adapter_env

SMALL_WORLD = ["--polymarket", "500", "--polymarket-events", "150", "--kalshi", "300",
               "--limitless", "50", "--opinion", "40"]  # fmt: skip
WARM_UP_SECONDS = 20.0
SEARCH_WORDS = ["will", "election", "price", "win", "rate", "bitcoin", "cup", "fed"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def child(name: str, args: list[str], env: dict[str, str], logs: Path) -> Iterator[psutil.Process]:
    """A predhub command as a child in its own process group, stopped with SIGTERM."""
    with open(logs / f"{name}.log", "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "predhub.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield psutil.Process(proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def rss_mb(proc: psutil.Process) -> float:
    """Resident memory of a process and its children (uvicorn's workers, PostgreSQL's backends).

    Proportional (PSS) where the system reports it: PostgreSQL's backends share
    its buffers, which plain RSS would count once per backend.
    """
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            try:
                total += p.memory_full_info().pss
            except (AttributeError, psutil.AccessDenied):
                total += p.memory_info().rss
    return total / 1e6


@dataclass
class Record:
    """Every HTTP answer's latency per minute of the run, and what went wrong."""

    started: float = field(default_factory=time.monotonic)
    latencies: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    ws_messages: int = 0
    ws_errors: list[str] = field(default_factory=list)
    closed: bool = False  # past the measured duration: answers still arriving are not counted

    def add(self, seconds: float, status: int, what: str) -> None:
        if self.closed:
            return
        self.latencies[int((time.monotonic() - self.started) // 60)].append(seconds)
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors.append(f"{what}: {status}")


async def timed(
    client: httpx.AsyncClient, record: Record, method: str, path: str, **kw: object
) -> None:
    began = time.perf_counter()
    try:
        response = await client.request(method, path, **kw)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        record.server_errors.append(f"{path}: {exc!r}")
        return
    record.add(time.perf_counter() - began, response.status_code, path)


async def reader(base: str, ids: list[str], record: Record, stop: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while not stop.is_set():
            key = ids[min(len(ids) - 1, int(rng.paretovariate(1.2)) - 1)]  # a few hot markets
            path = rng.choice([f"/v1/markets/{key}", f"/v1/markets/{key}/price",
                               f"/v1/markets/{key}/trades", "/v1/markets?limit=50"])  # fmt: skip
            await timed(client, record, "GET", path)


async def batcher(
    base: str, ids: list[str], record: Record, stop: asyncio.Event, seed: int
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while not stop.is_set():
            batch = rng.sample(ids, min(100, len(ids)))
            await timed(client, record, "POST", "/v1/prices", json={"ids": batch})
            await asyncio.sleep(0.2)


async def searcher(base: str, record: Record, stop: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while not stop.is_set():
            q = rng.choice(SEARCH_WORDS)
            await timed(client, record, "GET", "/v1/search", params={"q": q, "limit": 20})
            await asyncio.sleep(0.1)


async def subscriber(
    base: str, ids: list[str], record: Record, stop: asyncio.Event, n: int
) -> None:
    import websockets

    url = base.replace("http://", "ws://") + "/v1/ws"
    markets = [ids[(n * 7 + k) % len(ids)] for k in range(5)]
    while not stop.is_set():
        try:
            async with websockets.connect(url, max_queue=None) as ws:
                await ws.send(orjson.dumps({"op": "subscribe", "markets": markets}))
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(ws.recv(), timeout=1.0)
                        record.ws_messages += 1
        except (OSError, websockets.WebSocketException) as exc:
            if not stop.is_set():
                record.ws_errors.append(repr(exc))
                await asyncio.sleep(1.0)


async def wait_for_markets(url: str, minimum: int) -> list[str]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            conn = await asyncpg.connect(url)
            try:
                rows = await conn.fetch(
                    "SELECT venue || ':' || native_id AS key FROM silver.markets"
                    " WHERE status = 'open' ORDER BY volume_24h DESC NULLS LAST LIMIT 2000"
                )
            finally:
                await conn.close()
            if len(rows) >= minimum:
                return [r["key"] for r in rows]
        await asyncio.sleep(1.0)
    raise SystemExit("the worker loaded too few markets in five minutes")


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise SystemExit("the API did not become ready")


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


async def run(
    args: argparse.Namespace, url: str, procs: dict[str, psutil.Process], base: str
) -> None:
    await wait_ready(base)
    ids = await wait_for_markets(url, 200)
    record = Record()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(reader(base, ids, record, stop, n)) for n in range(args.readers)]
    tasks += [asyncio.create_task(batcher(base, ids, record, stop, 100 + n)) for n in range(2)]
    tasks += [asyncio.create_task(searcher(base, record, stop, 200 + n)) for n in range(2)]
    tasks += [
        asyncio.create_task(subscriber(base, ids, record, stop, n)) for n in range(args.subscribers)
    ]
    await asyncio.sleep(min(WARM_UP_SECONDS, args.seconds / 4))
    start_rss = {name: rss_mb(p) for name, p in procs.items()}
    record.latencies.clear()
    record.statuses.clear()
    record.server_errors.clear()
    record.started = time.monotonic()
    await asyncio.sleep(args.seconds)
    end_rss = {name: rss_mb(p) for name, p in procs.items()}
    record.closed = True
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    total = sum(record.statuses.values())
    print(f"soak: {args.seconds} s after a warm-up; {total} HTTP requests "
          f"({total / args.seconds:.0f}/s), {args.subscribers} WebSocket subscribers received "
          f"{record.ws_messages} messages")  # fmt: skip
    print(f"server errors: {len(record.server_errors)} (goal 0)  statuses: {dict(record.statuses)}")
    for line in record.server_errors[:5]:
        print(f"   {line}")
    if record.ws_errors:
        print(f"WebSocket errors: {len(record.ws_errors)}, e.g. {record.ws_errors[0]}")
    print("resident memory (MB PSS, with children)  start      end   change")
    for name in procs:
        change = (end_rss[name] - start_rss[name]) / start_rss[name] * 100 if start_rss[name] else 0
        print(f"   {name:<34} {start_rss[name]:7.1f}  {end_rss[name]:7.1f}  {change:+6.1f} %")
    print("p99 latency per minute (goal steady):")
    for minute in sorted(record.latencies):
        values = record.latencies[minute]
        print(
            f"   minute {minute + 1}: p99 {p99(values) * 1000:7.1f} ms over {len(values)} requests"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=600, help="measured duration")
    parser.add_argument("--readers", type=int, default=8, help="concurrent single-market readers")
    parser.add_argument("--subscribers", type=int, default=200, help="WebSocket subscribers")
    parser.add_argument(
        "--port-base",
        type=int,
        default=0,
        help="simulator, API and database on this port and the next two (default: free ports)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="predhub-soak-"))
    if args.port_base:
        sim_port, api_port, db_port = args.port_base, args.port_base + 1, args.port_base + 2
    else:
        sim_port, api_port, db_port = free_port(), free_port(), free_port()
    server = EmbeddedPostgres(root / "db", port=db_port)
    running = server.ensure_running()
    env = {**os.environ, **adapter_env("127.0.0.1", sim_port)}
    env.update(DATABASE_URL=running.url, LOG_LEVEL="WARNING", PREDHUB_DATA_DIR=str(root))
    try:
        with (
            child(
                "simulator", ["sim", "--port", str(sim_port), "--quiet", *SMALL_WORLD], env, root
            ) as sim,
            child("worker", ["worker"], env, root) as worker,
            child("api", ["serve", "--port", str(api_port), "--workers", "2"], env, root) as api,
        ):
            procs = {
                "postgresql (server and backends)": psutil.Process(running.pid),
                "simulator": sim,
                "worker": worker,
                "api (2 processes)": api,
            }
            asyncio.run(run(args, running.url, procs, f"http://127.0.0.1:{api_port}"))
            for name in ("worker", "api"):
                text = (root / f"{name}.log").read_text(errors="replace")
                print(f"{name} log: {text.count('Traceback')} tracebacks, "
                      f"{len(text.splitlines())} lines")  # fmt: skip
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
