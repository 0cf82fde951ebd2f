"""The scale benchmark: how each cost grows with the catalogue and the history.

    python bench/scale.py                                  # 5,500 / 55,000 / 550,000 markets
    python bench/scale.py --sizes 5500,55000 --trades 1000000,10000000
    python bench/scale.py --parts static,rerun,plan,delta  # a subset of the measures
    python bench/scale.py --json scale.json                # keep the figures, to compare runs

For each size a simulator serves that many Polymarket markets (time frozen,
no latency or rate limits: what is measured is predhub's side), a scratch
database (the embedded PostgreSQL in a temporary directory, or DATABASE_URL's
server) is filled, and the measures run in order:

1. `static`: a static load of the whole catalogue, wall time and requests
   (goal: grows no faster than the venue's page count);
6. `rerun`: the same static load again against the frozen venue: wide market
   rows rewritten (their xmin changed; goal 0), and narrow sync rows stamped;
3. `plan`: one scheduler planning cycle of the venue (priorities, market
   states, the budget planner, the jobs queued), median and worst of 5
   (goal < 100 ms at the largest size);
2. `delta`: 100 markets changed at the venue, then one delta load (goal:
   within 1.5 times from the smallest to the largest size);
5. `history`: `--trades` trades spread over every market, written by COPY
   (the generator stands in for months of trading), and a week of 5-minute
   price points for 100 markets, rolled up as the worker does;
4. `reads`: through the API app in-process (database-only mode, no network):
   a cached single-market price read, a batch of 1,000 ids, a search, a week of
   hourly candles; p99 of each over `--requests` (goal: within 1.5 times from
   the smallest to the largest size);
5. `bytes`: bytes per market (markets, outcomes, quotes, sync rows, events)
   with and without bronze, and per million trades.

Every size's figures are printed side by side with the ratio largest /
smallest. Each figure is a named row, so work that changes the storage
(partitions, replicas) adds rows or reruns the table with `--json` and a
`--label` to set the runs side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from _scratch import scratch_database
from predhub.db.connect import create_pool

VENUE = "polymarket"
CHANGED = 100
HISTORY_MARKETS = 100
PLAN_RUNS = 5


@dataclass
class Run:
    """One size's world, database and figures."""

    size: int
    trades: int
    requests: int
    sim: Any = None
    url: str = ""
    pool: asyncpg.Pool | None = None
    venue: Any = None
    ingestor: Any = None
    settings: Any = None
    figures: dict[str, float] = field(default_factory=dict)

    def put(self, name: str, value: float) -> None:
        self.figures[name] = value
        print(f"  [{self.size:,}] {name}: {value:,.3f}", flush=True)

    @property
    def db(self) -> asyncpg.Pool:
        assert self.pool is not None
        return self.pool


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _row_versions(pool: asyncpg.Pool, table: str, key: str) -> dict[int, str]:
    rows = await pool.fetch(f"SELECT {key} AS k, xmin::text AS x FROM {table}")
    return {r["k"]: r["x"] for r in rows}


# ----------------------------------------------------------------------------- measures
async def part_static(run: Run) -> None:
    started = time.perf_counter()
    summary = await run.ingestor.static_load()
    wall = time.perf_counter() - started
    held = await run.db.fetchval("SELECT count(*) FROM silver.markets")
    run.put("1 static load: markets held", held)
    run.put("1 static load: wall s", wall)
    run.put("1 static load: requests", summary.requests)
    run.put("1 static load: ms per request", 1000 * wall / max(1, summary.requests))
    run.put("1 static load: markets/s", held / wall)


async def part_rerun(run: Run) -> None:
    # Schemas before the narrow sync table (for a before/after run) count the wide rows alone.
    has_sync = await run.db.fetchval("SELECT to_regclass('silver.market_sync') IS NOT NULL")
    wide = await _row_versions(run.db, "silver.markets", "id")
    narrow = await _row_versions(run.db, "silver.market_sync", "market_id") if has_sync else {}
    started = time.perf_counter()
    summary = await run.ingestor.static_load()
    wall = time.perf_counter() - started
    wide_after = await _row_versions(run.db, "silver.markets", "id")
    narrow_after = (
        await _row_versions(run.db, "silver.market_sync", "market_id") if has_sync else {}
    )
    run.put("6 identical rerun: wall s", wall)
    run.put("6 identical rerun: requests", summary.requests)
    run.put(
        "6 identical rerun: market rows rewritten",
        sum(1 for k, x in wide_after.items() if wide.get(k) != x),
    )
    run.put(
        "6 identical rerun: sync rows stamped",
        sum(1 for k, x in narrow_after.items() if narrow.get(k) != x),
    )


async def part_plan(run: Run) -> None:
    from predhub.scheduler.priority import recompute_priorities
    from predhub.scheduler.worker import VenueWorker

    worker = VenueWorker(run.db, run.venue, run.ingestor, run.settings)
    now = datetime.now(UTC) + timedelta(hours=1)  # every normal quote due again
    samples: list[float] = []
    enqueued = 0
    for _ in range(PLAN_RUNS):
        started = time.perf_counter()
        report = await worker.plan_cycle(now)
        samples.append(time.perf_counter() - started)
        enqueued = report.enqueued
    await run.db.execute("DELETE FROM ops.jobs")
    run.put("3 planning cycle: median ms", 1000 * statistics.median(samples))
    run.put("3 planning cycle: worst ms", 1000 * max(samples))
    run.put("3 planning cycle: jobs queued", enqueued)
    parts: list[float] = []
    for _ in range(PLAN_RUNS):  # of which: the priority rules over every market of the venue
        started = time.perf_counter()
        await recompute_priorities(run.db, VENUE, run.settings, now)
        parts.append(time.perf_counter() - started)
    run.put("3 of which priorities: median ms", 1000 * statistics.median(parts))


def _change_markets(run: Run, n: int) -> int:
    """Edit `n` open markets of the simulated venue, as the venue would (new text, new time)."""
    world = run.sim.sim.world
    now = world.now
    changed = 0
    for m in world.markets:
        if m.venue == VENUE and m.status == "open":
            m.question = f"{m.question.rstrip('?')} (revised {int(now)})?"
            m.updated_at = now + 1
            changed += 1
            if changed == n:
                break
    world.version += 1
    return changed


async def part_delta(run: Run) -> None:
    from predhub.ingest import runs
    from predhub.ingest.pipeline import _parse_time

    changed = _change_markets(run, CHANGED)
    # The simulator runs in this process, and the first listing after a change filters and
    # sorts its whole catalogue (then cached until the next change): the same listing walked
    # bare first takes that cost, so the delta's own figure is predhub's side.
    mark = await runs.get_watermark(run.db, VENUE, "delta")
    since = _parse_time(mark) if mark else None
    started = time.perf_counter()
    async for _page in run.venue.list_markets(since=since, active_only=since is None):
        pass
    bare = time.perf_counter() - started
    started = time.perf_counter()
    summary = await run.ingestor.delta_load()
    wall = time.perf_counter() - started
    run.put("2 delta, 100 changed: markets changed at the venue", changed)
    run.put("2 delta, 100 changed: markets updated", summary.updated)
    run.put("2 delta, 100 changed: wall s", wall)
    run.put("2 delta, 100 changed: the bare listing before it s", bare)
    run.put("2 delta, 100 changed: requests", summary.requests)


_TRADES = """
INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size, side, executed_at)
SELECT $1, ($4::bigint[])[1 + (g * 2654435761) % cardinality($4)],
       ($5::bigint[])[1 + (g * 2654435761) % cardinality($5)], 'gen-' || g,
       (1 + (g * 7919) % 98) / 100.0, 1 + g % 500, 'buy',
       $6::timestamptz + make_interval(secs => g * $7::float8)
FROM generate_series($2::bigint, $3::bigint) g
"""


async def _copy_trades(conn: asyncpg.Connection, n: int, now: datetime) -> float:
    """`n` trades over every market's first outcome and the last 30 days; seconds taken.

    Generated by the server (generate_series) a million rows a statement: the
    figure is what the trades table and its indexes cost to fill, not Python's.
    """
    rows = await conn.fetch("SELECT market_id, id FROM silver.outcomes WHERE idx = 0 ORDER BY id")
    markets = [r["market_id"] for r in rows]
    outcomes = [r["id"] for r in rows]
    span = 30 * 86400
    started = time.perf_counter()
    for first in range(0, n, 1_000_000):
        last = min(n, first + 1_000_000) - 1
        await conn.execute(
            _TRADES, VENUE, first, last, markets, outcomes, now - timedelta(seconds=span), span / n
        )
    return time.perf_counter() - started


async def _copy_history(conn: asyncpg.Connection, now: datetime) -> list[int]:
    """A week and a day of 5-minute points for HISTORY_MARKETS markets (both outcomes)."""
    rows = await conn.fetch(
        "SELECT o.market_id, o.id FROM silver.outcomes o JOIN silver.markets m ON m.id = o.market_id"
        " WHERE m.status = 'open' ORDER BY o.market_id, o.idx"
    )
    markets = sorted({r["market_id"] for r in rows})[:: max(1, len(rows) // 2 // HISTORY_MARKETS)]
    chosen = set(markets[:HISTORY_MARKETS])
    rng = random.Random(11)
    end = now.replace(second=0, microsecond=0)
    stamps = [(end - timedelta(minutes=5 * k)).isoformat() for k in range(8 * 288)]
    buf = io.StringIO()
    for r in rows:
        if r["market_id"] not in chosen:
            continue
        price = 0.5
        for stamp in stamps:
            price = min(0.99, max(0.01, price + rng.gauss(0, 0.01)))
            buf.write(f"{r['id']},{stamp},{price:.4f},quote\n")
    await conn.copy_to_table(
        "price_history",
        schema_name="silver",
        source=io.BytesIO(buf.getvalue().encode()),
        columns=["outcome_id", "ts", "price", "source"],
        format="csv",
    )
    return sorted(chosen)


async def part_history(run: Run) -> None:
    from predhub.gold.history import rollup

    now = datetime.now(UTC)
    async with run.db.acquire() as conn:
        seconds = await _copy_trades(conn, run.trades, now)
        run.put("5 trades generated", run.trades)
        run.put("5 trades generated per s", run.trades / seconds)
        await _copy_history(conn, now)
        while (await rollup(conn, run.settings, now=now, force=True)).buckets:
            pass
        await conn.execute("VACUUM ANALYZE")


async def part_reads(run: Run) -> None:
    from predhub.api.app import create_app
    from predhub.settings import Settings

    settings = Settings(_env_file=None, database_only_mode=True)  # type: ignore[call-arg]
    app = create_app(settings, database_url=run.url)
    ids = [
        r["id"]
        for r in await run.db.fetch(
            "SELECT id FROM silver.markets WHERE status = 'open' ORDER BY volume_24h DESC NULLS"
            " LAST, id LIMIT 2000"
        )
    ]
    history_ids = [
        r["market_id"]
        for r in await run.db.fetch("SELECT DISTINCT market_id FROM gold.market_price_history_1h")
    ]
    words = [
        w
        for r in await run.db.fetch(
            "SELECT question FROM silver.markets ORDER BY random() LIMIT 200"
        )
        for w in r["question"].split()
        if len(w) > 4 and w.isalpha()
    ] or ["will"]
    rng = random.Random(5)
    n = run.requests

    async def timed(call: Callable[[], Awaitable[httpx.Response]]) -> list[float]:
        samples = []
        for k in range(n + 20):
            t0 = time.perf_counter()
            response = await call()
            if k >= 20:
                samples.append(time.perf_counter() - t0)
            if response.status_code != 200:
                raise RuntimeError(
                    f"{response.request.url}: {response.status_code} {response.text}"
                )
        return samples

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        hot = ids[:200]
        for market in hot:  # the cache holds them afterwards
            await http.get(f"/v1/markets/{market}/price", params={"tier": "T4"})
        single = await timed(
            lambda: http.get(f"/v1/markets/{rng.choice(hot)}/price", params={"tier": "T4"})
        )
        run.put("4 cached single read p99 ms", 1000 * p99(single))
        body = orjson.dumps({"ids": [str(i) for i in ids[:1000]], "tier": "T4"})
        batch = await timed(
            lambda: http.post(
                "/v1/prices", content=body, headers={"content-type": "application/json"}
            )
        )
        run.put("4 batch of 1,000 p99 ms", 1000 * p99(batch))
        search = await timed(lambda: http.get("/v1/search", params={"q": rng.choice(words)}))
        run.put("4 search p99 ms", 1000 * p99(search))
        if history_ids:
            candles = await timed(
                lambda: http.get(
                    f"/v1/markets/{rng.choice(history_ids)}/history", params={"interval": "1h"}
                )
            )
            run.put("4 week of hourly candles p99 ms", 1000 * p99(candles))


async def part_bytes(run: Run) -> None:
    async def size(*tables: str) -> int:
        total = 0
        for t in tables:
            total += int(await run.db.fetchval("SELECT pg_total_relation_size($1::regclass)", t))
        return total

    markets = int(await run.db.fetchval("SELECT count(*) FROM silver.markets"))
    silver = await size(
        "silver.markets", "silver.outcomes", "silver.quotes", "silver.market_sync", "silver.events"
    )
    bronze = await size("bronze.api_responses", "bronze.response_sightings")
    run.put("5 bytes per market, silver", silver / markets)
    run.put("5 bytes per market, with bronze", (silver + bronze) / markets)
    trades = int(await run.db.fetchval("SELECT count(*) FROM silver.trades"))
    if trades:
        per_million = await size("silver.trades") / (trades / 1e6)
        run.put("5 MB per million trades (no bronze: generated)", per_million / 1e6)


PARTS: dict[str, Callable[[Run], Awaitable[None]]] = {
    "static": part_static,
    "rerun": part_rerun,
    "plan": part_plan,
    "delta": part_delta,
    "history": part_history,
    "reads": part_reads,
    "bytes": part_bytes,
}


# ----------------------------------------------------------------------------- one size
async def measure(size: int, trades: int, parts: list[str], requests: int) -> dict[str, float]:
    from predhub.ingest.pipeline import Ingestor
    from predhub.sim.config import SimConfig
    from predhub.sim.plugins import plugins
    from predhub.sim.testing import running_simulator
    from predhub.venues.registry import build_venue

    counts = {p.name: 0 for p in plugins()} | {VENUE: size}
    config = SimConfig(
        seed=7, markets=counts, speed=0.0, latency_scale=0.0, rate_limits=False, history_hours=0.5
    )
    run = Run(size=size, trades=trades, requests=requests)
    print(f"size {size:,} markets, {trades:,} trades: building the simulated world", flush=True)
    built = time.perf_counter()
    with running_simulator(config) as sim:
        print(f"  world built in {time.perf_counter() - built:.1f} s", flush=True)
        async with scratch_database() as url:
            run.sim, run.url = sim, url
            run.settings = sim.settings(enabled_venues=VENUE)
            run.pool = await create_pool(url, min_size=2, max_size=run.settings.db_pool_max)
            run.venue = build_venue(VENUE, run.settings)
            run.ingestor = Ingestor(run.pool, run.venue, run.settings)
            try:
                for name in parts:
                    await PARTS[name](run)
            finally:
                await run.venue.close()
                await run.pool.close()
    return run.figures


def table(results: dict[str, dict[str, float]]) -> str:
    """Every figure by size (or run label), side by side, with the ratio last / first."""
    labels = list(results)
    names: list[str] = []
    for figures in results.values():
        names += [k for k in figures if k not in names]
    width = max(len(n) for n in names) + 2
    lines = ["".ljust(width) + "".join(f"{c:>14}" for c in labels) + f"{'last/first':>12}"]
    for name in sorted(names, key=lambda n: (n.split()[0], names.index(n))):
        cells = [results[c].get(name) for c in labels]
        row = name.ljust(width) + "".join(
            f"{v:>14,.2f}" if v is not None else f"{'-':>14}" for v in cells
        )
        first, last = cells[0], cells[-1]
        ratio = f"{last / first:>12.2f}" if first and last is not None else f"{'-':>12}"
        lines.append(row + ratio)
    return "\n".join(lines)


async def main_async(
    args: argparse.Namespace, results: dict[str, dict[str, float]], save: Callable[[], None]
) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    trades = [int(t) for t in args.trades.split(",")]
    if len(trades) != len(sizes):
        raise SystemExit("--trades needs one count per size")
    parts = args.parts.split(",")
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"--parts: unknown {unknown}; known {list(PARTS)}")
    for size, count in zip(sizes, trades, strict=True):
        results[f"{args.label}{size:,}"] = await measure(size, count, parts, args.requests)
        save()
    print()
    print(table(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5500,55000,550000", help="markets per run")
    parser.add_argument(
        "--trades", default="1000000,10000000,50000000", help="trades per run, one per size"
    )
    parser.add_argument("--parts", default=",".join(PARTS), help=f"of {', '.join(PARTS)}")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per read")
    parser.add_argument("--json", help="read earlier figures from, and add these to, this file")
    parser.add_argument("--label", default="", help="prefix of this run's column names")
    args = parser.parse_args()
    path = Path(args.json) if args.json else None
    results: dict[str, dict[str, float]] = {}
    if path is not None and path.exists():
        results = json.loads(path.read_text())

    def save() -> None:
        if path is not None:
            path.write_text(json.dumps(results, indent=1))

    asyncio.run(main_async(args, results, save))


if __name__ == "__main__":
    main()
