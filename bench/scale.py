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
import os
import random
import re
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
    served: int = 0
    jobs: int = 2
    static_limit: float = 0.0
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
    if run.static_limit:
        # a catalogue too large to load within the run: load for a while, then stop and
        # report the rate so far (requests as the simulator counted them)
        run.sim.reset_stats()
        try:
            summary = await asyncio.wait_for(run.ingestor.static_load(), run.static_limit)
            requests = summary.requests
        except TimeoutError:
            requests = run.sim.count(VENUE)
            run.put("1 static load: stopped after s", run.static_limit)
    else:
        requests = (await run.ingestor.static_load()).requests
    wall = time.perf_counter() - started
    held = await run.db.fetchval("SELECT count(*) FROM silver.markets")
    run.put("1 static load: markets held", held)
    run.put("1 static load: wall s", wall)
    run.put("1 static load: requests", requests)
    run.put("1 static load: ms per request", 1000 * wall / max(1, requests))
    run.put("1 static load: markets/s", held / wall)


# ----------------------------------------------------------------------------- fill
async def _columns(conn: asyncpg.Connection, table: str, skip: set[str]) -> list[str]:
    """The columns a copy writes (not the identity, not generated ones, not `skip`)."""
    schema, name = table.split(".")
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = $1"
        " AND table_name = $2 AND is_generated = 'NEVER' AND is_identity = 'NO'"
        " ORDER BY ordinal_position",
        schema,
        name,
    )
    return [r["column_name"] for r in rows if r["column_name"] not in skip]


def _select(columns: list[str], alias: str, overrides: dict[str, str]) -> str:
    return ", ".join(overrides.get(c, f"{alias}.{c}") for c in columns)


async def part_fill(run: Run) -> None:
    """Grow the database from the loaded catalogue to `size` markets by copying it in SQL.

    When the simulator serves fewer markets than the size (`--served`), the
    markets the static load wrote (with their events, outcomes, quotes, sync
    rows and bronze responses) are copied under new native ids (`<id>~<k>`)
    until the database holds `size` markets: the rows are the load's own, and
    every insert goes through the tables' indexes and triggers as a load's
    does, but set-based, so a catalogue the in-process simulator would take an
    hour to serve is there in minutes. The venue keeps serving the loaded
    markets: the delta and the rerun work on those, among all the copies.
    """
    held = int(await run.db.fetchval("SELECT count(*) FROM silver.markets WHERE venue = $1", VENUE))
    if held == 0 or held >= run.size:
        return
    started = time.perf_counter()
    async with run.db.acquire() as conn:
        await conn.execute("SET synchronous_commit = off")
        ev_cols = await _columns(conn, "silver.events", set())
        mk_cols = await _columns(conn, "silver.markets", {"id", "search_vector"})
        oc_cols = await _columns(conn, "silver.outcomes", set())
        qt_cols = await _columns(conn, "silver.quotes", set())
        sy_cols = await _columns(conn, "silver.market_sync", {"market_id", "venue"})
        br_cols = await _columns(conn, "bronze.api_responses", {"id"})
        sg_cols = await _columns(conn, "bronze.response_sightings", {"response_id"})
        original_ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM silver.markets WHERE venue = $1 ORDER BY id", VENUE
            )
        ]
        top_bronze = int(
            await conn.fetchval("SELECT coalesce(max(id), 0) FROM bronze.api_responses")
        )
        total, k = held, 0
        while total < run.size:
            k += 1
            chosen = original_ids[: run.size - total]
            tag = f"'~{k}'"
            async with conn.transaction():
                await conn.execute(
                    f"INSERT INTO silver.events ({', '.join(ev_cols)})"
                    f" SELECT {_select(ev_cols, 'e', {'native_id': f'e.native_id || {tag}', 'slug': f'e.slug || {tag}'})}"
                    " FROM silver.events e WHERE e.venue = $1 AND e.native_id IN"
                    " (SELECT event_native_id FROM silver.markets WHERE id = ANY($2::bigint[]))",
                    VENUE,
                    chosen,
                )
                renamed = {
                    c: f"m.{c} || {tag}"
                    for c in ("native_id", "event_native_id", "slug", "condition_id", "ticker")
                }
                renamed["event_id"] = (
                    "(SELECT ce.id FROM silver.events ce WHERE ce.venue = m.venue"
                    f" AND ce.native_id = m.event_native_id || {tag})"
                )
                await conn.execute(
                    f"INSERT INTO silver.markets ({', '.join(mk_cols)})"
                    f" SELECT {_select(mk_cols, 'm', renamed)} FROM silver.markets m"
                    " WHERE m.id = ANY($1::bigint[]) ORDER BY m.id",
                    chosen,
                )
                pairs = (
                    "FROM silver.markets m JOIN silver.markets c ON c.venue = m.venue"
                    f" AND c.native_id = m.native_id || {tag} WHERE m.id = ANY($1::bigint[])"
                )
                await conn.execute(
                    f"INSERT INTO silver.outcomes ({', '.join(oc_cols)})"
                    f" SELECT {_select(oc_cols, 'o', {'market_id': 'c.id', 'token_id': f'o.token_id || {tag}'})}"
                    f" FROM silver.outcomes o JOIN ({'SELECT m.id AS mid, c.id ' + pairs}) c"
                    " ON c.mid = o.market_id ORDER BY c.id, o.idx",
                    chosen,
                )
                await conn.execute(
                    f"INSERT INTO silver.quotes ({', '.join(qt_cols)})"
                    f" SELECT {_select(qt_cols, 'q', {'market_id': 'c.id', 'outcome_id': 'co.id'})}"
                    " FROM silver.quotes q JOIN silver.outcomes o ON o.id = q.outcome_id"
                    f" JOIN ({'SELECT m.id AS mid, c.id ' + pairs}) c ON c.mid = q.market_id"
                    " JOIN silver.outcomes co ON co.market_id = c.id AND co.idx = o.idx",
                    chosen,
                )
                # the sync rows the insert trigger made take the loaded markets' stamps,
                # as if the load had written them (the triggers a stamp fires are the load's)
                await conn.execute("SET LOCAL session_replication_role = replica")
                await conn.execute(
                    f"UPDATE silver.market_sync s SET ({', '.join(sy_cols)}) ="
                    f" ({_select(sy_cols, 'o', {})}) FROM silver.market_sync o"
                    f" JOIN ({'SELECT m.id AS mid, c.id ' + pairs}) c ON c.mid = o.market_id"
                    " WHERE s.market_id = c.id",
                    chosen,
                )
                await conn.execute("SET LOCAL session_replication_role = origin")
                if len(chosen) == held and top_bronze:  # whole copies carry the bronze too
                    hashed = {
                        "content_hash": f"sha256(r.content_hash || convert_to({tag}, 'UTF8'))"
                    }
                    await conn.execute(
                        "WITH src AS (SELECT r.*, nextval(pg_get_serial_sequence("
                        "'bronze.api_responses', 'id')) AS new_id FROM bronze.api_responses r"
                        " WHERE r.id <= $1),"
                        f" ins AS (INSERT INTO bronze.api_responses (id, {', '.join(br_cols)})"
                        f" SELECT r.new_id, {_select(br_cols, 'r', hashed)} FROM src r)"
                        f" INSERT INTO bronze.response_sightings (response_id, {', '.join(sg_cols)})"
                        f" SELECT r.new_id, {_select(sg_cols, 's', {})} FROM src r"
                        " JOIN bronze.response_sightings s ON s.response_id = r.id",
                        top_bronze,
                    )
            total += len(chosen)
            if k % 10 == 0:
                print(
                    f"  [{run.size:,}] fill: {total:,} markets, {time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        await conn.execute("VACUUM ANALYZE")
    run.put("0 fill: markets copied", total - held)
    run.put("0 fill: wall s", time.perf_counter() - started)


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
INSERT INTO {part} (id, venue, market_id, outcome_id, trade_key, price, size, side, executed_at)
OVERRIDING SYSTEM VALUE
SELECT * FROM (
    SELECT g + 1, $1, ($4::bigint[])[1 + (g * 2654435761) % cardinality($4)],
           ($5::bigint[])[1 + (g * 2654435761) % cardinality($5)], 'gen-' || g,
           (1 + (g * 7919) % 98) / 100.0, 1 + g % 500, 'buy',
           $6::timestamptz + make_interval(secs => g * $7::float8) AS executed_at
    FROM generate_series($2::bigint, $3::bigint) g
) t
WHERE executed_at >= $8 AND executed_at < $9
"""

_PARTITIONS = """
SELECT c.oid::regclass::text AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'silver.trades'::regclass
"""

_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")
CHUNK = 1_000_000


async def _trade_partitions(
    conn: asyncpg.Connection, start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime]]:
    """The trades partitions covering [start, end] (made ahead as the worker makes them)."""
    days = [start + timedelta(days=d) for d in range((end - start).days + 1)] + [end]
    await conn.execute("SELECT ops.ensure_partitions('silver.trades', $1::timestamptz[])", days)
    found = []
    for r in await conn.fetch(_PARTITIONS):
        match = _BOUND.search(r["bound"])
        if match is None:
            continue
        lo, hi = await conn.fetchrow(
            "SELECT $1::text::timestamptz, $2::text::timestamptz", match.group(1), match.group(2)
        )
        if hi > start and lo <= end:
            found.append((r["name"], lo, hi))
    return sorted(found, key=lambda p: p[1])


async def _copy_trades(pool: asyncpg.Pool, n: int, now: datetime, jobs: int) -> dict[str, float]:
    """`n` trades over every market's first outcome and the last 30 days; seconds taken.

    Generated by the server (generate_series), a million rows a statement on
    `jobs` connections at once, into each time partition while it is detached
    and bare (no index, no constraint but its range): the partition's indexes
    are then built once, when it is attached again, instead of maintained row
    by row. The figure is what filling the trades table costs the database,
    not Python's.
    """
    if n == 0:
        return {"insert": 0.0, "index": 0.0, "total": 0.0}
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT market_id, id FROM silver.outcomes WHERE idx = 0 ORDER BY id"
        )
        markets = [r["market_id"] for r in rows]
        outcomes = [r["id"] for r in rows]
        span = 30 * 86400
        start = now - timedelta(seconds=span)
        step = span / n
        parts = await _trade_partitions(conn, start, now)
    started = time.perf_counter()
    bare: list[tuple[str, datetime, datetime]] = []
    async with pool.acquire() as conn:
        for name, lo, hi in parts:
            await conn.execute(f"ALTER TABLE silver.trades DETACH PARTITION {name}")
            for c in await conn.fetch(
                "SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass"
                " AND contype IN ('p', 'u')",
                name,
            ):
                await conn.execute(f'ALTER TABLE {name} DROP CONSTRAINT "{c["conname"]}"')
            for i in await conn.fetch(
                "SELECT indexrelid::regclass::text AS i FROM pg_index WHERE indrelid = $1::regclass",
                name,
            ):
                await conn.execute(f"DROP INDEX {i['i']}")
            await conn.execute(
                f"ALTER TABLE {name} ADD CONSTRAINT scale_bench_range"
                f" CHECK (executed_at >= '{lo.isoformat()}' AND executed_at < '{hi.isoformat()}')"
            )
            bare.append((name, lo, hi))
    work: asyncio.Queue[tuple[str, int, int, datetime, datetime]] = asyncio.Queue()
    for name, lo, hi in bare:
        # the generator's rows in this partition, a row either side for rounding at the bounds
        first = max(0, int((lo - start).total_seconds() / step) - 2)
        last = min(n - 1, int((hi - start).total_seconds() / step) + 2)
        for g in range(first, last + 1, CHUNK):
            work.put_nowait((name, g, min(last, g + CHUNK - 1), lo, hi))

    async def worker() -> None:
        async with pool.acquire() as conn:
            await conn.execute("SET synchronous_commit = off")
            while not work.empty():
                name, g0, g1, lo, hi = work.get_nowait()
                await conn.execute(
                    _TRADES.format(part=name), VENUE, g0, g1, markets, outcomes, start, step, lo, hi
                )

    await asyncio.gather(*(worker() for _ in range(max(1, jobs))))
    inserted = time.perf_counter() - started
    async with pool.acquire() as conn:
        await conn.execute("SET maintenance_work_mem = '1GB'")
        for name, lo, hi in bare:
            await conn.execute(
                f"ALTER TABLE silver.trades ATTACH PARTITION {name}"
                f" FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
            )
            await conn.execute(f"ALTER TABLE {name} DROP CONSTRAINT scale_bench_range")
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('silver.trades', 'id'), $1)", max(1, n)
        )
        await conn.execute("ANALYZE silver.trades")
    total = time.perf_counter() - started
    return {"insert": inserted, "index": total - inserted, "total": total}


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
        await _copy_history(conn, now)
        while (await rollup(conn, run.settings, now=now, force=True)).buckets:
            pass
        await conn.execute("VACUUM ANALYZE")  # before the trades: they are analyzed alone
    seconds = await _copy_trades(run.db, run.trades, now, run.jobs)
    run.put("5 trades generated", run.trades)
    run.put("5 trades generated per s", run.trades / max(seconds["total"], 1e-9))
    run.put("5 trades generated: insert s", seconds["insert"])
    run.put("5 trades generated: index build s", seconds["index"])


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
        for t in tables:  # a partitioned table's bytes are its partitions'
            total += int(
                await run.db.fetchval(
                    "SELECT CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum("
                    "pg_total_relation_size(relid)), 0) FROM pg_partition_tree(c.oid))"
                    " ELSE pg_total_relation_size(c.oid) END"
                    " FROM pg_class c WHERE c.oid = $1::regclass",
                    t,
                )
            )
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
    "fill": part_fill,
    "rerun": part_rerun,
    "plan": part_plan,
    "delta": part_delta,
    "history": part_history,
    "reads": part_reads,
    "bytes": part_bytes,
}


# ----------------------------------------------------------------------------- one size
async def _tune_embedded(url: str) -> None:
    """Checkpoints spaced for bulk writes, on a benchmark's own embedded server only.

    The default 1 GB of WAL between checkpoints makes the generator write
    every page several times; the reads' settings (shared buffers) stay the
    defaults the earlier figures had.
    """
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ALTER SYSTEM SET max_wal_size = '16GB'")
        await conn.execute("ALTER SYSTEM SET checkpoint_timeout = '30min'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def measure(
    size: int,
    trades: int,
    parts: list[str],
    requests: int,
    served: int,
    jobs: int,
    static_limit: float = 0.0,
) -> dict[str, float]:
    from predhub.ingest.pipeline import Ingestor
    from predhub.sim.config import SimConfig
    from predhub.sim.plugins import plugins
    from predhub.sim.testing import running_simulator
    from predhub.venues.registry import build_venue

    counts = {p.name: 0 for p in plugins()} | {VENUE: served}
    config = SimConfig(
        seed=7, markets=counts, speed=0.0, latency_scale=0.0, rate_limits=False, history_hours=0.5
    )
    run = Run(
        size=size,
        trades=trades,
        requests=requests,
        served=served,
        jobs=jobs,
        static_limit=static_limit,
    )
    print(
        f"size {size:,} markets ({served:,} served by the simulator), {trades:,} trades:"
        " building the simulated world",
        flush=True,
    )
    built = time.perf_counter()
    with running_simulator(config) as sim:
        print(f"  world built in {time.perf_counter() - built:.1f} s", flush=True)
        async with scratch_database() as url:
            run.sim, run.url = sim, url
            if not os.environ.get("DATABASE_URL"):
                await _tune_embedded(url)
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
    served = [int(s) for s in args.served.split(",")] if args.served else sizes
    if len(served) != len(sizes) or any(s > z for s, z in zip(served, sizes, strict=True)):
        raise SystemExit("--served needs one count per size, each at most its size")
    parts = args.parts.split(",")
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"--parts: unknown {unknown}; known {list(PARTS)}")
    for size, count, serve in zip(sizes, trades, served, strict=True):
        results[f"{args.label}{size:,}"] = await measure(
            size, count, parts, args.requests, serve, args.jobs, args.static_limit
        )
        save()
    print()
    print(table(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5500,55000,550000", help="markets per run")
    parser.add_argument(
        "--trades", default="1000000,10000000,50000000", help="trades per run, one per size"
    )
    parser.add_argument(
        "--served",
        help="markets the simulator serves, one per size (default: the sizes); the database"
        " is filled up to the size by copying the loaded markets in SQL",
    )
    parser.add_argument("--jobs", type=int, default=2, help="connections generating trades at once")
    parser.add_argument(
        "--static-limit",
        type=float,
        default=0.0,
        help="stop the static load after this many seconds and report its rate so far",
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
