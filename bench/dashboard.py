"""The dashboard's page loads in a real browser, on the demo's data; figures are printed.

For every page: the browser's navigation timing (time to first byte,
DOMContentLoaded, load) and the time until the page shows "Data as of" (its
data arrived and was drawn), p50 and p95 over 20 loads; and the API calls the
pages made (resource timing, p50/p95 per route). The baseline, measured in the
same run and the same browser, is the navigation to the bare `/healthz`.
Goal: p95 DOMContentLoaded under 300 ms on loopback; data calls under 100 ms.

By default the whole demo is started (`predhub demo`: embedded PostgreSQL,
simulator, worker, API on free ports) and left to sync for `--warmup` seconds;
`--base http://127.0.0.1:8000` measures a hub that is already running instead.
Needs Chromium (`/usr/bin/chromium`, or PREDHUB_CHROMIUM) and Playwright.

Usage: python bench/dashboard.py [--loads 20] [--warmup 90] [--base URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx

CHROMIUM = os.environ.get("PREDHUB_CHROMIUM", "/usr/bin/chromium")
GOAL_DCL_MS = 300.0
GOAL_CALL_MS = 100.0

NAV_TIMING = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  return {ttfb: n.responseStart - n.startTime, dcl: n.domContentLoadedEventEnd - n.startTime,
          load: n.loadEventEnd - n.startTime};
}"""
CALLS = """() => performance.getEntriesByType('resource')
  .filter(r => r.name.includes('/v1/')).map(r => [r.name, r.responseEnd - r.startTime])"""
SHOWN = (
    "() => document.getElementById('asof-time') && document.getElementById('asof-time').dateTime"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.contextmanager
def demo_hub(warmup: float) -> Iterator[str]:
    """`predhub demo` on free ports, synced for `warmup` seconds; stopped with Ctrl-C."""
    env = {
        **os.environ,
        "API_PORT": str(free_port()),
        "SIM_PORT": str(free_port()),
        "METRICS_PORT": str(free_port()),
    }
    env.pop("DATABASE_URL", None)
    base = f"http://127.0.0.1:{env['API_PORT']}"
    cli = Path(sys.executable).with_name("predhub")
    proc = subprocess.Popen(
        [str(cli), "demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the demo exited"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(1)
        print(f"demo up at {base}; letting it sync for {warmup:.0f} s")
        time.sleep(warmup)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def pages(base: str) -> list[tuple[str, str]]:
    """Every page, with a busy market and event of the demo for the detail pages."""
    top = httpx.get(f"{base}/v1/top?n=1", timeout=10).json()
    market = top["overall"][0]
    event = market.get("event_id") or httpx.get(f"{base}/v1/events?limit=1").json()["data"][0]["id"]
    return [
        ("home", "/"),
        ("markets", "/markets"),
        ("market", f"/market?id={market['id']}"),
        ("events", "/events"),
        ("event", f"/event?id={event}"),
        ("arbitrage", "/arbitrage"),
        ("status", "/status"),
    ]


async def measure(base: str, loads: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        rows: list[tuple[str, dict[str, list[float]]]] = []
        calls: dict[str, list[float]] = defaultdict(list)
        targets = [("baseline /healthz", "/healthz"), *pages(base)]
        for name, path in targets:
            figures: dict[str, list[float]] = defaultdict(list)
            for n in range(loads + 1):  # the first load warms the browser's cache: not counted
                started = time.perf_counter()
                await page.goto(base + path, wait_until="load")
                if path != "/healthz":
                    await page.wait_for_function(SHOWN, timeout=30_000)
                shown = (time.perf_counter() - started) * 1000
                timing = await page.evaluate(NAV_TIMING)
                if n == 0:
                    continue
                for key, value in timing.items():
                    figures[key].append(value)
                if path != "/healthz":
                    figures["shown"].append(shown)
                    for url, ms in await page.evaluate(CALLS):
                        route = re.sub(r"/\d+(/|\?|$)", r"/{id}\1", url.split("//", 1)[1])
                        route = route.split("/", 1)[1].split("?")[0]
                        calls["/" + route].append(ms)
            rows.append((name, figures))
        await browser.close()

    print(f"\npage loads, {loads} each (ms)")
    head = f"{'page':<20}{'TTFB p50':>9}{'p95':>7}{'DCL p50':>9}{'p95':>7}"
    print(head + f"{'load p50':>10}{'p95':>7}{'shown p50':>11}{'p95':>7}{'DCL p95 / base':>16}")
    base_dcl = pct(rows[0][1]["dcl"], 0.95)
    worst = 0.0
    for name, f in rows:
        shown = f.get("shown")
        dcl95 = pct(f["dcl"], 0.95)
        if name != rows[0][0]:
            worst = max(worst, dcl95)
        print(
            f"{name:<20}{pct(f['ttfb'], 0.5):>9.1f}{pct(f['ttfb'], 0.95):>7.1f}"
            f"{pct(f['dcl'], 0.5):>9.1f}{dcl95:>7.1f}{pct(f['load'], 0.5):>10.1f}"
            f"{pct(f['load'], 0.95):>7.1f}"
            + (f"{pct(shown, 0.5):>11.1f}{pct(shown, 0.95):>7.1f}" if shown else f"{'':>18}")
            + f"{dcl95 / base_dcl:>15.2f}x"
        )
    print("\nAPI calls the pages made (ms, resource timing in the browser)")
    print(f"{'route':<40}{'n':>5}{'p50':>8}{'p95':>8}")
    slow = []
    for route in sorted(calls):
        values = calls[route]
        p95 = pct(values, 0.95)
        if p95 > GOAL_CALL_MS:
            slow.append(route)
        print(f"{route:<40}{len(values):>5}{statistics.median(values):>8.1f}{p95:>8.1f}")
    verdict = "met" if worst < GOAL_DCL_MS else "NOT met"
    print(
        f"\nworst page p95 DOMContentLoaded {worst:.1f} ms: goal < {GOAL_DCL_MS:.0f} ms {verdict}"
    )
    print(f"data calls over {GOAL_CALL_MS:.0f} ms at p95: {', '.join(slow) if slow else 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--warmup", type=float, default=90.0)
    parser.add_argument("--base", help="a running hub's API, e.g. http://127.0.0.1:8000")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium)")
        sys.exit(2)
    if args.base:
        asyncio.run(measure(args.base.rstrip("/"), args.loads))
        return
    with demo_hub(args.warmup) as base:
        asyncio.run(measure(base, args.loads))


if __name__ == "__main__":
    main()
