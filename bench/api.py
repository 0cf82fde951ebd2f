"""Benchmarks of the market data service and the HTTP API; figures are printed.

1. cached single-market reads vs two baselines on the same server (uvicorn, 2 workers):
   a bare FastAPI endpoint, and a raw ASGI endpoint with no framework, both
   returning the same bytes (wrk, 64 connections), measured in turn over
   --read-rounds rounds; the per-round ratios and their median are printed
2. a batch of 1,000 ids (p50/p99)
3. upstream efficiency: two API processes, 200 clients, Zipf over the simulator's
   markets with mixed tiers, against the minimum (one call per market per window)
   and a naive pass-through that asks the venue on every request
4. live feed: from a price change in the simulator (a trade, sent on its
   WebSocket) through the worker's stream consumer, ingestion and NOTIFY to
   1,000 WebSocket subscribers over two API processes, p50/p99
5. resilience: 100 concurrent requests for one stale market; a venue outage
6. access control: the cached single-market read with an API key against without

Everything runs on this machine: an embedded PostgreSQL, the venue simulator,
uvicorn with two workers, and wrk (or, without wrk, a Python load generator).

Usage: python bench/api.py [--seconds 10] [--upstream-seconds 60] [--markets 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from predhub.db import migrate
from predhub.db.connect import connect, create_pool
from predhub.db.embedded import EmbeddedPostgres
from predhub.ingest.pipeline import Ingestor
from predhub.logging import configure_logging
from predhub.sim.config import SimConfig
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.base import MarketRef, OutcomeRef
from predhub.venues.registry import build_venue

TIERS = [("T2a", 2.0, 0.2), ("T2b", 15.0, 0.3), ("T3", 120.0, 0.3), ("T4", 900.0, 0.2)]


# ---------------------------------------------------------------- the bare baseline
def bare_app() -> Any:
    """The same stack (FastAPI on uvicorn) returning the same payload as ready bytes."""
    from fastapi import FastAPI
    from starlette.responses import Response

    payload = Path(os.environ["BENCH_PAYLOAD_FILE"]).read_bytes()
    app = FastAPI()

    @app.get("/v1/markets/{market_id}/price")
    async def price(market_id: str) -> Response:
        return Response(payload, media_type="application/json")

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app


_JSON_HEADERS = [(b"content-type", b"application/json")]


def raw_app() -> Any:
    """The floor: a plain ASGI callable on the same server returning the same bytes."""
    payload = Path(os.environ["BENCH_PAYLOAD_FILE"]).read_bytes()
    health = b'{"status":"ok"}'
    price_headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
    health_headers = [*_JSON_HEADERS, (b"content-length", str(len(health)).encode())]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["path"] == "/healthz":
            body, headers = health, health_headers
        else:
            body, headers = payload, price_headers
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


# ---------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


SERVERS: dict[str, int] = {}  # base URL -> the uvicorn supervisor's process id


def server_cpu_seconds(base: str) -> float:
    """CPU time (user + system) the server's worker processes have used so far (Linux)."""
    parent = SERVERS[base]
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:  # ppid; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def serve(target: str, env: dict[str, str], *, workers: int = 2) -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", target, "--factory", "--workers", str(workers),
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--log-level", "warning", "--no-access-log", "--app-dir", str(Path(__file__).parent),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    SERVERS[base] = proc.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{target} did not start")
            time.sleep(0.1)
        time.sleep(1.0)  # let every worker finish its start-up
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---------------------------------------------------------------- load generation
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(text)
    return float(m[1]) * _UNITS[m[2]]


def wrk(url: str, *, connections: int, seconds: int, script: str | None = None) -> dict[str, float]:
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    requests = float(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    pct = {p: _seconds(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "requests": requests,
        "p50": pct["50"],
        "p99": pct["99"],
        "errors": float(errors[1]) if errors else 0,
    }


async def _pyload(
    url: str,
    *,
    connections: int,
    seconds: float,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """A Python stand-in for wrk (slower: compare only ratios measured the same way)."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                r = await client.request(
                    method,
                    url,
                    content=body,
                    headers={"content-type": "application/json", **(headers or {})},
                )
                latencies.append(time.perf_counter() - t0)
                errors += r.status_code >= 300

        await asyncio.gather(*(worker() for _ in range(connections)))
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "requests": float(len(latencies)),
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
        "errors": float(errors),
    }


def load(
    url: str,
    *,
    connections: int,
    seconds: int,
    post_body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    if shutil.which("wrk"):
        script = None
        lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items()]
        if post_body is not None:
            body = post_body.decode().replace("\\", "\\\\").replace('"', '\\"')
            lines += [
                'wrk.method = "POST"',
                'wrk.headers["Content-Type"] = "application/json"',
                f'wrk.body = "{body}"',
            ]
        if lines:
            lua = Path(tempfile.mkstemp(suffix=".lua")[1])
            lua.write_text("\n".join(lines) + "\n")
            script = str(lua)
        return wrk(url, connections=connections, seconds=seconds, script=script)
    return asyncio.run(
        _pyload(url, connections=connections, seconds=seconds,
                method="POST" if post_body else "GET", body=post_body, headers=headers)
    )  # fmt: skip


def ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


# ---------------------------------------------------------------- set-up
async def prepare(url: str, sim: SimHandle) -> list[int]:
    conn = await connect(url)
    try:
        await migrate.upgrade(conn)
    finally:
        await conn.close()
    settings = sim.settings(enabled_venues="polymarket")
    pool = await create_pool(url, min_size=1, max_size=8)
    try:
        venue = build_venue("polymarket", settings)
        try:
            await Ingestor(pool, venue, settings).static_load()
        finally:
            await venue.close()
        rows = await pool.fetch(
            "SELECT id FROM silver.markets WHERE status = 'open' AND venue = 'polymarket' "
            "AND EXISTS (SELECT 1 FROM silver.quotes q WHERE q.market_id = silver.markets.id) "
            "ORDER BY volume_24h DESC NULLS LAST, id"
        )
        return [int(r["id"]) for r in rows]
    finally:
        await pool.close()


async def age_markets(url: str, ids: list[int]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE silver.market_sync SET quotes_synced_at = now() - interval '2 hours' "
            "WHERE market_id = ANY($1::bigint[])",
            ids,
        )
    finally:
        await conn.close()
    await asyncio.sleep(0.3)  # the change notifications reach every process's cache


def quote_calls(sim: SimHandle) -> int:
    return sim.count("polymarket", "/midpoints") + sim.count("polymarket", "/prices")


# ---------------------------------------------------------------- 1 and 2
def bench_reads(base: str, market_id: int, env: dict[str, str], seconds: int, rounds: int) -> None:
    """The cached read (the fast path) against the same bytes from a bare FastAPI
    endpoint and a raw ASGI callable, on servers up side by side and measured in
    turn, `rounds` times: a busy machine slows all three alike within a round, so
    the per-round ratios and their median are what to read, not one pass each."""
    url = f"{base}/v1/markets/{market_id}/price?tier=T4"
    body = httpx.get(url).content
    payload_file = Path(tempfile.mkstemp(suffix=".json")[1])
    payload_file.write_bytes(body)
    other_env = {**env, "BENCH_PAYLOAD_FILE": str(payload_file)}
    with (
        serve("api:bare_app", other_env) as bare_base,
        serve("api:raw_app", other_env) as raw_base,
    ):
        targets = {
            "predhub": url,
            "bare": f"{bare_base}/v1/markets/{market_id}/price",
            "raw": f"{raw_base}/v1/markets/{market_id}/price",
        }
        for target in targets.values():
            load(target, connections=64, seconds=2)  # warm every worker (and its cache)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for _ in range(rounds):
            for name, target in targets.items():
                runs[name].append(load(target, connections=64, seconds=seconds))
    print(f"1. single-market reads, no refresh needed, 64 connections, 2 workers, {rounds} rounds")
    for name in targets:
        rps = statistics.median(r["rps"] for r in runs[name])
        p50 = statistics.median(r["p50"] for r in runs[name])
        p99 = statistics.median(r["p99"] for r in runs[name])
        print(f"   {name:<8} {rps:9.0f} req/s  p50 {ms(p50)}  p99 {ms(p99)}  (medians)")
    errors = sum(r["errors"] for r in runs["predhub"])
    for other, goal in (("bare", 0.70), ("raw", 0.80)):
        ratios = [o["rps"] / b["rps"] for o, b in zip(runs["predhub"], runs[other], strict=True)]
        p99s = [o["p99"] / b["p99"] for o, b in zip(runs["predhub"], runs[other], strict=True)]
        print(
            f"   cached read vs {other:<4}: throughput ratio {statistics.median(ratios):.2f} "
            f"(goal >= {goal:.2f}; rounds {', '.join(f'{r:.2f}' for r in ratios)}), "
            f"p99 ratio {statistics.median(p99s):.2f}"
            + (f" (goal <= 2.0), non-2xx {errors:.0f}" if other == "bare" else "")
        )


def bench_access(base: str, url: str, market_id: int, seconds: int, rounds: int) -> None:
    """The cost of access control on the cached read: with a key against without, one run.

    `rounds` pairs of measurements, each pair's order alternating (anonymous first,
    then keyed first, ...) so drift on a shared machine falls on both alike; each
    pair gives a ratio, and their median is the figure (a busy machine's swings
    are larger than the effect measured). The servers' CPU time per request is
    printed too: it moves less than throughput when other work takes the cores.
    The key's level has a limit far above the load, so every keyed request is
    checked, counted and answered, none refused.
    """
    key = asyncio.run(_bench_key(url))
    target = f"{base}/v1/markets/{market_id}/price?tier=T4"
    keyed = {"X-API-Key": key}
    for headers in (None, keyed):
        load(target, connections=64, seconds=2, headers=headers)  # warm caches and allowances
    results: dict[str, list[dict[str, float]]] = {"anonymous": [], "keyed": []}
    order = ("anonymous", "keyed")
    for n in range(rounds):
        for name in order if n % 2 == 0 else order[::-1]:
            cpu = server_cpu_seconds(base)
            run = load(
                target, connections=64, seconds=seconds, headers=keyed if name == "keyed" else None
            )
            run["cpu_per_request"] = (server_cpu_seconds(base) - cpu) / max(run["requests"], 1)
            results[name].append(run)
    check = httpx.get(target, headers=keyed)
    assert check.status_code == 200 and "ratelimit-remaining" in check.headers, check.text
    errors = sum(r["errors"] for runs in results.values() for r in runs)
    print(
        f"6. access control on the cached single-market read (64 connections, 2 workers,"
        f" {rounds} rounds of {seconds} s each; load average {os.getloadavg()[0]:.1f})"
    )
    for name in order:
        runs = results[name]
        print(
            f"   {name:9s} {statistics.median(r['rps'] for r in runs):9.0f} req/s"
            f"  p99 {ms(statistics.median(r['p99'] for r in runs))}"
            f"  CPU {statistics.median(r['cpu_per_request'] for r in runs) * 1e6:.0f} us/request"
            "  (medians)"
        )
    pairs = list(zip(results["keyed"], results["anonymous"], strict=True))
    ratios = [k["rps"] / a["rps"] for k, a in pairs]
    cpu_ratios = [a["cpu_per_request"] / k["cpu_per_request"] for k, a in pairs]
    totals = sum(k["requests"] for k, _ in pairs) / sum(a["requests"] for _, a in pairs)
    print(
        f"   keyed vs anonymous: throughput ratio {statistics.median(ratios):.2f} (goal >= 0.90;"
        f" rounds {', '.join(f'{r:.2f}' for r in ratios)}; all requests {totals:.2f}),"
        f" CPU per request ratio {statistics.median(cpu_ratios):.2f} (anonymous / keyed),"
        f" non-2xx {errors:.0f}"
    )


async def _bench_key(url: str) -> str:
    from predhub.api.keys import issue_key
    from predhub.service.accounts import AccountStore

    conn = await connect(url)
    try:
        store = AccountStore(conn)
        key, _ = await issue_key(
            store, account="bench", name=f"bench-{time.time_ns()}", level="vip"
        )
        return key
    finally:
        await conn.close()


def bench_batch(base: str, ids: list[int], seconds: int) -> None:
    body = orjson.dumps({"ids": [str(i) for i in ids[:1000]], "tier": "T4"})
    # Warm every worker's cache (one request would reach one worker only, and the
    # other's first cold batch would then stand in the p99 of "served from cache").
    load(f"{base}/v1/prices", connections=4, seconds=2, post_body=body)
    result = load(f"{base}/v1/prices", connections=1, seconds=seconds, post_body=body)
    print(f"2. batch of {min(1000, len(ids))} ids, one connection, answers served from cache")
    print(
        f"   {result['rps']:.0f} batches/s  p50 {ms(result['p50'])}  p99 {ms(result['p99'])} "
        f"(goal p99 < 30 ms), non-2xx {result['errors']:.0f}"
    )


# ---------------------------------------------------------------- 5
async def bench_resilience(base: str, url: str, sim: SimHandle, ids: list[int]) -> None:
    market = ids[-1]
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:
        await age_markets(url, [market])
        sim.reset_stats()
        await client.get(f"{base}/v1/markets/{market}/price", params={"tier": "T2a"})
        one = quote_calls(sim)
        await age_markets(url, [market])
        sim.reset_stats()
        answers = await asyncio.gather(
            *(
                client.get(f"{base}/v1/markets/{market}/price", params={"tier": "T2a"})
                for _ in range(100)
            )
        )
        hundred = quote_calls(sim)
        refreshed = sum(r.json().get("cache") == "refreshed" for r in answers)
        print("5. resilience")
        print(
            f"   100 concurrent requests for one stale market: {hundred} upstream requests "
            f"(one refresh costs {one}: {hundred / max(one, 1):.0f} refresh), "
            f"{refreshed} answers 'refreshed'"
        )
        outage = ids[-60:-10]
        await age_markets(url, outage)
        sim.set_faults({"venue": "polymarket", "kind": "error", "status": 503})
        try:

            async def get(n: int) -> httpx.Response:
                path = f"{base}/v1/markets/{outage[n % len(outage)]}/price"
                try:
                    return await client.get(path, params={"tier": "T2a"})
                except httpx.TransportError:  # a kept-alive connection the server had closed
                    return await client.get(path, params={"tier": "T2a"})

            responses = await asyncio.gather(*(get(n) for n in range(500)))
        finally:
            sim.clear_faults()
        server_errors = sum(r.status_code >= 500 for r in responses)
        stale = sum(r.status_code == 200 and r.json().get("stale") is True for r in responses)
        print(
            f"   venue outage: {len(responses)} requests over {len(outage)} stale markets: "
            f"{server_errors} server errors, {stale} served stale with a reason"
        )


# ---------------------------------------------------------------- 3
def zipf_cdf(n: int, s: float = 1.1) -> list[float]:
    weights = [1 / (k**s) for k in range(1, n + 1)]
    total = sum(weights)
    cdf, acc = [], 0.0
    for w in weights:
        acc += w / total
        cdf.append(acc)
    return cdf


def pick_tier(rng: random.Random) -> tuple[str, float]:
    x, acc = rng.random(), 0.0
    for name, age, share in TIERS:
        acc += share
        if x <= acc:
            return name, age
    return TIERS[-1][0], TIERS[-1][1]


def minimum_refreshes(log: list[tuple[float, int, float]]) -> int:
    """One refresh per market whenever a request finds the last one older than its max age."""
    by_market: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for t, market, max_age in log:
        by_market[market].append((t, max_age))
    needed = 0
    for events in by_market.values():
        events.sort()
        last: float | None = None
        for t, max_age in events:
            if last is None or t - last > max_age:
                needed += 1
                last = t
    return needed


async def _zipf_run(
    seconds: float, clients: int, ids: list[int], call: Any, seed: int = 1
) -> list[tuple[float, int, float]]:
    rng = random.Random(seed)
    cdf = zipf_cdf(len(ids))
    order = ids[:]
    rng.shuffle(order)
    log: list[tuple[float, int, float]] = []
    start = time.perf_counter()
    deadline = start + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            market = order[min(bisect.bisect_left(cdf, rng.random()), len(order) - 1)]
            tier, max_age = pick_tier(rng)
            await call(market, tier)
            log.append((time.perf_counter() - start, market, max_age))

    await asyncio.gather(*(client() for _ in range(clients)))
    return log


async def bench_upstream(
    base: str, url: str, sim: SimHandle, ids: list[int], seconds: float
) -> None:
    await age_markets(url, ids)
    sim.reset_stats()
    errors = 0
    states: dict[str, int] = defaultdict(int)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as http:

        async def call(market: int, tier: str) -> None:
            nonlocal errors
            try:
                r = await http.get(f"{base}/v1/markets/{market}/price", params={"tier": tier})
            except httpx.TransportError:  # a kept-alive connection the server had closed
                states["connection_reset"] += 1
                return
            errors += r.status_code >= 500
            if r.status_code == 200:
                states[r.json()["cache"]] += 1

        log = await _zipf_run(seconds, 200, ids, call)
    observed = quote_calls(sim)
    minimum = minimum_refreshes(log)
    per_refresh = 2  # the polymarket adapter's quote refresh: /midpoints and /prices

    # The seeds' starting point: every request goes to the venue, same workload and time.
    settings = sim.settings(enabled_venues="polymarket")
    venue = build_venue("polymarket", settings)
    pool = await create_pool(url, min_size=1, max_size=4)
    refs: dict[int, MarketRef] = {}
    for r in await pool.fetch(
        "SELECT m.id, m.native_id, m.condition_id, array_agg(o.token_id ORDER BY o.idx) AS tokens "
        "FROM silver.markets m JOIN silver.outcomes o ON o.market_id = m.id "
        "WHERE m.id = ANY($1::bigint[]) GROUP BY m.id",
        ids,
    ):
        outcomes = tuple(OutcomeRef(i, t) for i, t in enumerate(r["tokens"]))
        refs[int(r["id"])] = MarketRef(r["native_id"], outcomes, condition_id=r["condition_id"])
    await pool.close()
    sim.reset_stats()

    async def naive_call(market: int, tier: str) -> None:
        with contextlib.suppress(Exception):
            await venue.quotes([refs[market]])

    naive_log = await _zipf_run(seconds, 200, ids, naive_call, seed=2)
    naive = quote_calls(sim)
    await venue.close()
    print(f"3. upstream efficiency: 2 API processes, 200 clients, Zipf over {len(ids)} markets, "
          f"mixed tiers, {seconds:.0f} s")  # fmt: skip
    print(
        f"   predhub: {len(log)} requests, {observed} upstream requests = "
        f"{observed / per_refresh:.0f} refreshes; minimum {minimum} refreshes "
        f"-> ratio {observed / per_refresh / max(minimum, 1):.3f} (goal <= 1.05); 5xx {errors}"
    )
    print(
        f"   answers by cache state: {dict(states)} (stale: the venue's request budget was spent)"
    )
    print(
        f"   naive pass-through: {len(naive_log)} requests, {naive} upstream requests "
        f"({naive / max(observed, 1):.0f}x predhub's)"
    )


# ---------------------------------------------------------------- 4
FEED_MARKETS = 20


def busiest_markets(sim: SimHandle, url_ids: dict[str, int], n: int) -> list[int]:
    """Our ids of the simulator's n most traded open markets (the liveliest feeds)."""
    markets = [
        m for m in sim.truth(venue="polymarket", trades=False)["markets"] if m["status"] == "open"
    ]
    markets.sort(key=lambda m: -m["trade_count"])
    return [url_ids[m["market"]] for m in markets if m["market"] in url_ids][:n]


def venue_clock_offset(sim: SimHandle) -> float:
    """Wall-clock seconds minus the simulator's clock (its world time runs from its own start).

    Read five times; the reading with the shortest round trip wins (error < half of it).
    """
    readings = []
    for _ in range(5):
        t0 = time.time()
        now = float(sim.world()["now"])
        t1 = time.time()
        readings.append((t1 - t0, (t0 + t1) / 2 - now))
    return min(readings)[1]


async def bench_feed(base: str, url: str, sim: SimHandle, subscribers: int, seconds: float) -> None:
    """From a price change in the simulator to a subscribed client, through the real pipeline.

    The simulator trades in real time; each trade moves its market's price and
    goes out on its Polymarket market WebSocket, stamped with the trade's time.
    The worker's live-stream consumer (here in this process) reads it, writes
    the quotes through ingestion (bronze, silver, NOTIFY), both API processes
    hear the notification and push the market to their subscribers. A
    client's latency is its receipt time minus the quote's `as_of` (the
    trade's time on the venue's clock, put on the wall clock by
    `venue_clock_offset`). The simulator steps its world every
    `tick_seconds` (20 ms here), so a trade can reach the socket up to one
    tick after its time; that delay is counted in, not subtracted.
    """
    import websockets

    from predhub.scheduler.streams import StreamConsumer

    pool = await create_pool(url, min_size=2, max_size=6)
    natives = {r["native_id"]: int(r["id"]) for r in await pool.fetch(
        "SELECT native_id, id FROM silver.markets WHERE venue = 'polymarket'")}  # fmt: skip
    markets = busiest_markets(sim, natives, FEED_MARKETS)
    await pool.execute(
        "UPDATE silver.market_sync SET sync_priority = CASE WHEN market_id = ANY($1::bigint[])"
        " THEN 'high' ELSE 'normal' END WHERE venue = 'polymarket'",
        markets,
    )
    settings = sim.settings(enabled_venues="polymarket")
    venue = build_venue("polymarket", settings)
    consumer = StreamConsumer(pool, venue, Ingestor(pool, venue, settings), settings)
    stop = asyncio.Event()
    streaming = asyncio.create_task(consumer.run(stop))

    ws_url = base.replace("http://", "ws://") + "/v1/ws"
    latencies: list[float] = []
    offset = 0.0
    measuring = asyncio.Event()
    ready = 0
    all_ready = asyncio.Event()

    async def subscriber(n: int) -> None:
        nonlocal ready
        async with websockets.connect(ws_url, max_queue=None) as ws:
            market = markets[n % len(markets)]
            await ws.send(orjson.dumps({"op": "subscribe", "markets": [str(market)]}))
            while True:
                msg = orjson.loads(await ws.recv())
                if msg["type"] == "subscribed":
                    ready += 1
                    if ready == subscribers:
                        all_ready.set()
                elif msg["type"] == "quote" and measuring.is_set():
                    as_of = msg["data"].get("as_of")
                    if as_of:
                        changed = datetime.fromisoformat(as_of).timestamp() + offset
                        latencies.append(time.time() - changed)

    tasks = [asyncio.create_task(subscriber(n)) for n in range(subscribers)]
    try:
        await asyncio.wait_for(all_ready.wait(), timeout=120)
        await asyncio.sleep(2.0)  # the stream is subscribed and its first books are in
        offset = venue_clock_offset(sim)
        measuring.set()
        await asyncio.sleep(seconds)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.wait_for(streaming, timeout=30)
        await venue.close()
        await pool.close()
    latencies.sort()
    print(
        f"4. live feed: simulator price change -> {subscribers} WebSocket subscribers over "
        f"2 API processes ({len(markets)} markets streamed, {seconds:.0f} s)"
    )
    if latencies:
        print(
            f"   p50 {ms(latencies[len(latencies) // 2])}  "
            f"p99 {ms(latencies[int(len(latencies) * 0.99)])} (goal p99 < 100 ms); "
            f"{len(latencies)} deliveries, {consumer.written} rows written by the stream"
        )
    else:
        print("   nothing delivered")


# ---------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per wrk measurement")
    parser.add_argument("--read-rounds", type=int, default=3, help="part 1's rounds")
    parser.add_argument("--access-rounds", type=int, default=6, help="part 6's pairs of runs")
    parser.add_argument("--upstream-seconds", type=float, default=60)
    parser.add_argument("--markets", type=int, default=5000)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--feed-seconds", type=float, default=20, help="live-feed measurement")
    parser.add_argument(
        "--parts", default="1,2,3,4,6,5", help="which benchmarks to run, e.g. 1,2 (default all)"
    )
    args = parser.parse_args()
    configure_logging("WARNING")
    root = Path(tempfile.mkdtemp(prefix="predhub-bench-api-"))
    server = EmbeddedPostgres(root)
    url = server.ensure_running().url
    config = SimConfig(
        polymarket_markets=args.markets + args.markets // 10,
        polymarket_events=max(10, args.markets // 4),
        kalshi_markets=0,
        limitless_markets=0,
        opinion_markets=0,
        rate_limits=False,
        latency_scale=1.0,
        trades_per_market_hour=30.0,  # lively streams for the live-feed part
        tick_seconds=0.02,
    )
    try:
        with running_simulator(config) as sim:
            started = time.perf_counter()
            ids = asyncio.run(prepare(url, sim))[: args.markets]
            print(f"set-up: {len(ids)} open simulator markets ingested in "
                  f"{time.perf_counter() - started:.1f} s; load generator: "
                  f"{'wrk' if shutil.which('wrk') else 'python (install wrk for real figures)'}")  # fmt: skip
            env = {
                "DATABASE_URL": url,
                **sim.env,
                "ENABLED_VENUES": "polymarket",
                "LOG_LEVEL": "WARNING",
                "HTTP_MAX_RETRIES": "0",
                "DB_POOL_MAX": "10",
                # The simulator runs without rate limits here: lift the hub's own
                # per-minute venue budget too, so part 3 measures how many calls
                # the refreshes need, not where a budget cuts them off.
                "VENUE_REQUEST_BUDGETS": "polymarket=1000",
                # Part 6 measures what checking and counting a key costs, not a refusal.
                "ACCESS_LEVEL_LIMITS": "vip=1000000000/1000000",
            }
            with serve("predhub.api.app:app_from_env", env) as base:
                parts = {p.strip() for p in args.parts.split(",")}
                if "1" in parts:
                    bench_reads(base, ids[0], env, args.seconds, args.read_rounds)
                if "2" in parts:
                    bench_batch(base, ids, args.seconds)
                if "3" in parts:
                    asyncio.run(bench_upstream(base, url, sim, ids, args.upstream_seconds))
                if "4" in parts:
                    asyncio.run(bench_feed(base, url, sim, args.subscribers, args.feed_seconds))
                if "6" in parts:
                    bench_access(base, url, ids[0], args.seconds, args.access_rounds)
                if "5" in parts:  # last: the outage trips the venue's circuit breaker
                    asyncio.run(bench_resilience(base, url, sim, ids))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
