"""The dashboard's page loads in a real browser, on the demo's data; figures are printed.

For every page: the browser's navigation timing (time to first byte,
DOMContentLoaded, load) and the time until the page shows "Data as of" (its
data arrived and was drawn), p50 and p95 over 20 loads; and the API calls the
pages made (resource timing per route: the server's time, from the request
sent to the first byte, and the whole call). Baselines, measured in the same
run, the same browser and against the same server, interleaved with the
pages' loads so both see the same machine: for the pages, the navigation to a
static file of about a page's size (`/static/uplot.min.css`, one packet, no
subresources, like the pages' shells); for the data calls, `fetch('/healthz')`
from the page. Goals: p95 DOMContentLoaded under 300 ms on loopback; server
time under 300 ms per page and under 100 ms per data call.

By default the whole demo is started (`predhub demo`: embedded PostgreSQL,
simulator, worker, API on free ports) and left to sync for `--warmup` seconds;
`--base http://127.0.0.1:8000` measures a hub that is already running instead.
Needs Chromium (`/usr/bin/chromium`, or PREDHUB_CHROMIUM) and Playwright.

Usage: python bench/dashboard.py [--loads 20] [--warmup 90] [--base URL] [--screenshots DIR]
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
GOAL_PAGE_MS = 300.0

NAV_TIMING = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  return {ttfb: n.responseStart - n.startTime, dcl: n.domContentLoadedEventEnd - n.startTime,
          load: n.loadEventEnd - n.startTime};
}"""
CALLS = """() => performance.getEntriesByType('resource')
  .filter(r => r.name.includes('/v1/') || r.name.endsWith('/healthz'))
  .map(r => [r.name, r.responseStart - r.requestStart, r.responseEnd - r.startTime])"""
ALONE = """async (urls) => {
  const out = [];
  for (const url of urls) {
    performance.clearResourceTimings();
    await fetch(url, {cache: 'no-store'}).then(r => r.arrayBuffer());
    const e = performance.getEntriesByType('resource').pop();
    out.push([e.name, e.responseStart - e.requestStart, e.responseEnd - e.startTime]);
  }
  return out;
}"""
HEALTHZ = "() => fetch('/healthz', {cache: 'no-store'}).then(r => r.text())"
BASELINE_PAGE = "/static/uplot.min.css"
SHOT_HEIGHT = 1400
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


def route_of(url: str) -> str:
    """`/v1/markets/{id}/price` from a full URL: ids folded, the query left out."""
    path = "/" + url.split("//", 1)[1].split("/", 1)[1].split("?")[0]
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def plan(base: str) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """The pages to load and the bytes of each one's HTML (and of the baseline file)."""
    targets = pages(base)
    sizes = {"baseline": len(httpx.get(base + BASELINE_PAGE, timeout=10).content)}
    for name, path in targets:
        sizes[name] = len(httpx.get(base + path, timeout=10).content)
    return targets, sizes


async def measure(base: str, loads: int, shots: Path | None = None) -> None:
    targets, sizes = await asyncio.to_thread(plan, base)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        figures: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        server: dict[str, list[float]] = defaultdict(list)
        whole: dict[str, list[float]] = defaultdict(list)
        sample: dict[str, str] = {}  # one URL of each route the pages called
        for n in range(loads + 1):  # the first round warms the browser's cache: not counted
            # one round: the baseline file, then every page, so all see the same machine
            for name, path in [("baseline", BASELINE_PAGE), *targets]:
                started = time.perf_counter()
                await page.goto(base + path, wait_until="load")
                if name != "baseline":
                    await page.wait_for_function(SHOWN, timeout=30_000)
                    await page.evaluate(HEALTHZ)
                shown = (time.perf_counter() - started) * 1000
                timing = await page.evaluate(NAV_TIMING)
                if n == 0:
                    continue
                for key, value in timing.items():
                    figures[name][key].append(value)
                if name == "baseline":
                    continue
                figures[name]["shown"].append(shown)
                for url, waiting, total in await page.evaluate(CALLS):
                    route = route_of(url)
                    server[route].append(waiting)
                    whole[route].append(total)
                    sample.setdefault(route, url)
        # each data call alone, as the server answers it without the page's other calls
        # beside it, interleaved with the /healthz baseline (GETs; the POSTed batch of
        # prices is measured only within its page)
        alone_server: dict[str, list[float]] = defaultdict(list)
        await page.goto(base + BASELINE_PAGE)  # no page script runs beside them
        alone_urls = [u for r, u in sample.items() if r not in ("/v1/prices", "/healthz")]
        for n in range(loads + 1):
            for url, waiting, _total in await page.evaluate(ALONE, [*alone_urls, "/healthz"]):
                if n:
                    alone_server[route_of(url)].append(waiting)
        if shots is not None:
            for name, path in targets:
                await page.goto(base + path, wait_until="networkidle")
                await page.wait_for_function(SHOWN, timeout=30_000)
                # the top of each page, 1280 x 1400 CSS pixels: what the README shows
                height = min(SHOT_HEIGHT, await page.evaluate("document.body.scrollHeight"))
                await page.screenshot(
                    path=str(shots / f"{name}.png"),
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": 1280, "height": height},
                )
            print(f"screenshots of every page in {shots}")
        await browser.close()

    print(f"\npage loads, {loads} each, interleaved (ms)")
    head = f"{'page':<12}{'bytes':>7}{'TTFB p50':>9}{'p95':>7}{'DCL p50':>9}{'p95':>7}"
    print(head + f"{'load p50':>10}{'p95':>7}{'shown p50':>11}{'p95':>7}{'DCL p95 / base':>16}")
    base_dcl = pct(figures["baseline"]["dcl"], 0.95)
    worst = worst_ttfb = 0.0
    for name in ["baseline", *(t[0] for t in targets)]:
        f = figures[name]
        shown = f.get("shown")
        dcl95 = pct(f["dcl"], 0.95)
        if name != "baseline":
            worst = max(worst, dcl95)
            worst_ttfb = max(worst_ttfb, pct(f["ttfb"], 0.95))
        print(
            f"{name:<12}{sizes[name]:>7}{pct(f['ttfb'], 0.5):>9.1f}{pct(f['ttfb'], 0.95):>7.1f}"
            f"{pct(f['dcl'], 0.5):>9.1f}{dcl95:>7.1f}{pct(f['load'], 0.5):>10.1f}"
            f"{pct(f['load'], 0.95):>7.1f}"
            + (f"{pct(shown, 0.5):>11.1f}{pct(shown, 0.95):>7.1f}" if shown else f"{'':>18}")
            + f"{dcl95 / base_dcl:>15.2f}x"
        )
    print(f"baseline: {BASELINE_PAGE} ({sizes['baseline']} bytes) from the same server")
    print("\nAPI calls the pages made (ms; server: request sent to first byte; whole: the call)")
    print(
        f"{'route':<36}{'n':>5}{'server p50':>11}{'p95':>8}{'whole p50':>10}{'p95':>8}{'p95 / base':>12}"
    )
    base_call = pct(server["/healthz"], 0.95)
    slow = []
    for route in sorted(server, key=lambda r: (r != "/healthz", r)):
        values = server[route]
        p95 = pct(values, 0.95)
        if route != "/healthz" and p95 > GOAL_CALL_MS:
            slow.append(route)
        label = "baseline /healthz" if route == "/healthz" else route
        print(
            f"{label:<36}{len(values):>5}{statistics.median(values):>11.1f}{p95:>8.1f}"
            f"{statistics.median(whole[route]):>10.1f}{pct(whole[route], 0.95):>8.1f}"
            f"{p95 / base_call:>11.2f}x"
        )
    print("\nthe same calls alone, one at a time (ms of server time)")
    print(f"{'route':<36}{'n':>5}{'p50':>8}{'p95':>8}{'p95 / base':>12}")
    alone_base = pct(alone_server["/healthz"], 0.95)
    slow_alone = []
    for route in sorted(alone_server, key=lambda r: (r != "/healthz", r)):
        values = alone_server[route]
        p95 = pct(values, 0.95)
        if route != "/healthz" and p95 > GOAL_CALL_MS:
            slow_alone.append(route)
        label = "baseline /healthz" if route == "/healthz" else route
        print(
            f"{label:<36}{len(values):>5}{statistics.median(values):>8.1f}{p95:>8.1f}"
            f"{p95 / alone_base:>11.2f}x"
        )
    verdict = "met" if worst < GOAL_DCL_MS else "NOT met"
    print(
        f"\nworst page p95 DOMContentLoaded {worst:.1f} ms (baseline {base_dcl:.1f} ms):"
        f" goal < {GOAL_DCL_MS:.0f} ms {verdict}"
    )
    verdict = "met" if worst_ttfb < GOAL_PAGE_MS else "NOT met"
    print(
        f"worst page p95 time to first byte {worst_ttfb:.1f} ms: goal < {GOAL_PAGE_MS:.0f} ms {verdict}"
    )
    print(
        f"data calls over {GOAL_CALL_MS:.0f} ms of server time at p95, within their pages:"
        f" {', '.join(slow) if slow else 'none'}; alone: {', '.join(slow_alone) or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--warmup", type=float, default=90.0)
    parser.add_argument("--base", help="a running hub's API, e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--screenshots",
        type=Path,
        help="also save a screenshot of every page here (docs/dashboard)",
    )
    args = parser.parse_args()
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium)")
        sys.exit(2)
    if args.base:
        asyncio.run(measure(args.base.rstrip("/"), args.loads, args.screenshots))
        return
    with demo_hub(args.warmup) as base:
        asyncio.run(measure(base, args.loads, args.screenshots))


if __name__ == "__main__":
    main()
