"""Soak the venue simulator: a long run at high speed under steady load.

Starts `predhub sim` as a child process (default world, no latency, no rate
limits), keeps it busy with a mix of the requests predhub makes (Gamma keyset
pages, CLOB books and prices, Data API and Kalshi trades, Limitless and
Opinion lists) for the whole run, samples the child's resident memory, and
prints memory at the start and end (it should stay flat) and the requests per
second served. The first measurement is taken after a warm-up, once the world
is built and every code path has run.

Usage: python bench/sim_soak.py [--minutes 10] [--speed 60] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx
import psutil

from predhub.sim.urls import adapter_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "predhub.cli", "sim",
        "--port", str(port), "--speed", str(args.speed), "--seed", str(args.seed),
        "--latency-scale", "0", "--no-rate-limits", "--quiet",
    ]  # fmt: skip
    if args.small:
        cmd += [
            "--markets", "polymarket=500", "--events", "polymarket=150",
            "--markets", "kalshi=300", "--markets", "limitless=50", "--markets", "opinion=40",
        ]  # fmt: skip
    return subprocess.Popen(cmd, env={**os.environ, "LOG_LEVEL": "WARNING"})


async def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as c:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"simulator exited with {proc.returncode}")
            try:
                if (await c.get(base + "/admin/world")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


class Load:
    """Worker coroutines issuing a realistic mix of requests, counting answers."""

    def __init__(self, env: dict[str, str], base: str) -> None:
        self.env = env
        self.base = base
        self.ok = 0
        self.failed = 0
        self.statuses: Counter[int] = Counter()
        self.tokens: list[str] = []
        self.conditions: list[str] = []
        self.tickers: list[str] = []

    async def prime(self, c: httpx.AsyncClient) -> None:
        truth = (
            await c.get(
                self.base + "/admin/truth", params={"venue": "polymarket", "trades": "false"}
            )
        ).json()
        for m in [m for m in truth["markets"] if m["status"] == "open"][:2000]:
            self.tokens.append(m["outcomes"][0]["token_id"])
            self.conditions.append(m["condition_id"])
        kt = (
            await c.get(self.base + "/admin/truth", params={"venue": "kalshi", "trades": "false"})
        ).json()
        self.tickers = [m["market"] for m in kt["markets"] if m["status"] == "open"][:2000]

    def _request(self, rng: random.Random) -> tuple[str, str, dict[str, Any], Any]:
        e = self.env
        x = rng.random()
        if x < 0.15:
            return (
                "GET",
                e["POLYMARKET_GAMMA_URL"] + "/markets/keyset",
                {"limit": 100, "order": "updatedAt", "ascending": "false"},
                None,
            )
        if x < 0.40:
            return (
                "GET",
                e["POLYMARKET_CLOB_URL"] + "/book",
                {"token_id": rng.choice(self.tokens)},
                None,
            )
        if x < 0.55:
            body = [{"token_id": t, "side": "BUY"} for t in rng.sample(self.tokens, 50)]
            return "POST", e["POLYMARKET_CLOB_URL"] + "/prices", {}, body
        if x < 0.65:
            return (
                "GET",
                e["POLYMARKET_DATA_URL"] + "/trades",
                {"market": rng.choice(self.conditions), "limit": 100},
                None,
            )
        if x < 0.80:
            return (
                "GET",
                e["KALSHI_URL"] + "/markets/trades",
                {"ticker": rng.choice(self.tickers), "limit": 100},
                None,
            )
        if x < 0.90:
            return "GET", e["KALSHI_URL"] + "/markets", {"limit": 200}, None
        if x < 0.95:
            return (
                "GET",
                e["LIMITLESS_URL"] + "/markets/active",
                {"limit": 25, "page": rng.randint(1, 10)},
                None,
            )
        return "GET", e["OPINION_URL"] + "/market", {"limit": 20, "page": rng.randint(1, 10)}, None

    async def worker(self, c: httpx.AsyncClient, seed: int, until: float) -> None:
        rng = random.Random(seed)
        headers = {"apikey": self.env["OPINION_API_KEY"]}
        while time.monotonic() < until:
            method, url, params, body = self._request(rng)
            try:
                r = await c.request(method, url, params=params, json=body, headers=headers)
                self.statuses[r.status_code] += 1
                if r.status_code == 200:
                    self.ok += 1
                else:
                    self.failed += 1
            except httpx.HTTPError:
                self.failed += 1


def _rss_mb(proc: psutil.Process) -> float:
    return float(proc.memory_info().rss) / 2**20


async def soak(args: argparse.Namespace) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = adapter_env("127.0.0.1", port)
    started = time.monotonic()
    proc = _start(port, args)
    try:
        await _wait_ready(base, proc)
        print(
            f"world built and serving in {time.monotonic() - started:.1f} s (speed {args.speed}x)"
        )
        ps = psutil.Process(proc.pid)
        limits = httpx.Limits(
            max_connections=args.concurrency, max_keepalive_connections=args.concurrency
        )
        async with httpx.AsyncClient(timeout=60, limits=limits) as c:
            load = Load(env, base)
            await load.prime(c)
            warm_until = time.monotonic() + args.warmup
            await asyncio.gather(*(load.worker(c, i, warm_until) for i in range(args.concurrency)))
            world0 = (await c.get(base + "/admin/world")).json()
            mem0 = _rss_mb(ps)
            print(f"start: rss {mem0:.1f} MiB, simulated trades so far {world0['trades']}")
            load.ok = load.failed = 0
            load.statuses.clear()
            t0 = time.monotonic()
            until = t0 + args.minutes * 60
            samples: list[float] = [mem0]

            async def sampler() -> None:
                while time.monotonic() < until:
                    await asyncio.sleep(min(30.0, max(1.0, until - time.monotonic())))
                    samples.append(_rss_mb(ps))
                    done = time.monotonic() - t0
                    print(
                        f"  {done / 60:5.1f} min  rss {samples[-1]:7.1f} MiB  {load.ok / done:7.0f} req/s"
                    )

            await asyncio.gather(
                sampler(), *(load.worker(c, 100 + i, until) for i in range(args.concurrency))
            )
            elapsed = time.monotonic() - t0
            world1 = (await c.get(base + "/admin/world")).json()
        mem1 = _rss_mb(ps)
        simulated_h = (world1["now"] - world0["now"]) / 3600
        print(f"end:   rss {mem1:.1f} MiB (max {max(samples):.1f}), growth {mem1 - mem0:+.1f} MiB")
        print(f"simulated {simulated_h:.1f} h, {world1['trades'] - world0['trades']} new trades")
        print(
            f"served {load.ok} requests in {elapsed:.0f} s: {load.ok / elapsed:.0f} req/s ({load.failed} failed)"
        )
        print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(load.statuses.items())))
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="Soak duration (default 10)")
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--warmup", type=float, default=20.0, help="Seconds of load before the first memory sample"
    )
    parser.add_argument("--small", action="store_true", help="A small world, for a quick check")
    asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    main()
