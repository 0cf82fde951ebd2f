"""Ingestion benchmarks; every figure is printed.

    python bench/ingest.py db        # database side: normalize + bronze + silver vs plain COPY
    python bench/ingest.py static    # static load of the simulator's Polymarket catalogue
    python bench/ingest.py delta     # one delta cycle with about 100 changed markets
    python bench/ingest.py history   # complete-catalogue load of the simulator's closed markets
    python bench/ingest.py all

`history` builds a simulator with `--closed N` old markets (default 2,000 so it
finishes in a few minutes; `--closed 200000` is the full figure) on one venue
(`--venue`, polymarket or kalshi), runs `predhub ingest history`'s load into a
scratch database and prints markets and trades per second, the CPU the
process spent, and the requests it spent against the fewest the venue's page
sizes allow, per endpoint: the listing at the venue's largest page; the trades
at the largest page of an endpoint that takes many markets a request (every
trade / 10,000 on Polymarket's Data API), or a request per page of each traded
market where it takes one (Kalshi); and the price-history requests (one per
outcome token on Polymarket; on Kalshi one per 100 markets of the live set
through the batch candlesticks, one per market settled before the historical
cutoff, which the venue serves one market a request). The
baseline, measured in the same run, is the bare listing walk (the same pages
fetched and parsed, nothing written).

The database is the embedded PostgreSQL in a temporary directory, or the
server named by DATABASE_URL (a scratch database is created on it).

What `db` measures
------------------
Our figure is the whole write path: parsing venue JSON into the unified model
(Decimal and datetime construction), validation, bronze (canonical JSON,
SHA-256, the raw pages stored as jsonb), then silver, ten pages a transaction,
listing pages written as the pipeline writes them (`metadata_synced`: every
market of the batch gets its `metadata_synced_at`; the listing's implied
quotes, which the pipeline writes beside them, are left out),
with two writers at once by default (the worker runs its jobs concurrently; on
two cores one writer's Python work overlaps the other's database work;
`--writers 1` shows the serial figure). The baseline is a binary COPY, in the
same run, of the very same rows into unindexed tables without constraints:
the silver records and the bronze pages (jsonb), the price of moving the bytes
and nothing else. The ratio against the silver records alone is printed too.

Where the time goes (EXPLAIN ANALYZE and per-statement timing, 5,500 markets
and 220,000 trades):

- markets: the insert itself, about 50 us a row: ten index entries a row
  (the two keys, lookups by condition id, ticker, slug, event, venue and
  status, the closing queue, the GIN search index, the change stream's
  transaction id; priority, interest and the backfill queue index the narrow
  silver.market_sync row a trigger adds in the same statement) and the
  generated search vector (two to_tsvector calls).
  The GIN index alone, with its vector, costs more than the plain COPY of
  the row ("search-vector floor" prints that floor). Then the outcomes (two
  rows a market, COPied with the ids reserved for their markets).
- trades: the COPY into silver.trades with its three indexes (primary key,
  the (venue, trade_key) dedupe key, (market_id, executed_at)); normalising
  (Decimal and datetime construction) is a fifth of the wall time.
- bronze: the server parsing each page into jsonb and compressing it (pglz;
  this PostgreSQL build has no lz4).

What was removed: trades and new bronze contents COPY straight into their
tables (a staging table cost as much as the COPY itself), with a savepoint
and the staged INSERT ... ON CONFLICT as the fallback when a concurrent
writer stored the same keys; the stored-trade lookup is one index range scan
per market, not a probe per trade; trades have no per-row foreign-key checks
(the writer resolves both ids from silver in the same transaction), and
since migration 0028 neither have outcomes, sync rows nor a market's event
reference (ON DELETE is kept by statement triggers); the search vector
covers question and event title, a generated column again (0005 had made it
a row trigger to skip unchanged text, but the trigger's call cost as much as
the vector, and a row is written only when its content changed); the three
statement triggers queueing a new market are one, and since migration 0030 it
makes the sync rows only: gold and the matcher find written markets by the
writing transaction's id (predhub.db.changes) instead of a queue row each;
since migration 0037 a new market's sync row is born with its
`metadata_synced_at` (the COPY's savepoint sets it for the insert trigger),
where the listing's stamp used to UPDATE the row the trigger had just made (a
second, non-HOT version of each, with its row trigger's NOTIFY and gold queue
row): only the markets the batch already knew are stamped by an UPDATE;
reserving ids looks the sequence up once, not once per id (the lookup cost
twenty times the nextval); a valid market passes validation by a few
comparisons before any message is built; a duplicate index on markets went; markets carry a content
fingerprint, so re-polled unchanged markets are dropped by comparing one
number before anything is staged; bronze serialises each page once. Unchanged
rows are never rewritten, so re-applying a batch updates nothing (`n_tup_upd`
+0).

Measured (`--markets 20000 --trades-per-market 1`, two cores, five runs
alternating with the code before migration 0037 under this same bench, load
average 1.4 to 2.1): the markets' wall ratio median 0.25 against 0.19 (runs
0.23-0.32 against 0.17-0.21), 13,800 against 9,900 markets/s; the server's
CPU for the markets' write path median 1.03 s against 1.64 s, a plain COPY of
the same rows and pages 0.25 s; this process's CPU for the write 0.6 s. Trades
did not move beyond the noise. The goal of 0.5 is not met for markets (README,
Benchmarks).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from _scratch import scratch_database
from predhub.db.connect import JsonText, connect, create_pool
from predhub.ingest.silver.catalog import _market_record
from predhub.ingest.silver.trades import _trade_record
from predhub.ingest.store import Batch, write_batch
from predhub.logging import configure_logging
from predhub.models import Market, MarketStatus, Outcome, RawResponse, Trade

T0 = datetime(2026, 1, 1, tzinfo=UTC)


# ----------------------------------------------------------------------------- database


# ----------------------------------------------------------------------------- synthetic pages
def gamma_market(i: int, rng: random.Random, version: int = 0) -> dict[str, Any]:
    """A Gamma-shaped market of about 1.4 KB (JSON-encoded string fields included)."""
    yes = round(rng.uniform(0.02, 0.98), 3)
    return {
        "id": str(500000 + i),
        "question": f"Will benchmark outcome number {i} happen before the end of the season?",
        "conditionId": "0x" + f"{i:064x}",
        "slug": f"will-benchmark-outcome-{i}-happen",
        "description": "This market resolves YES if the described outcome happens. " * 6,
        "endDate": (T0 + timedelta(days=30 + i % 200)).isoformat(),
        "updatedAt": (T0 + timedelta(seconds=version)).isoformat(),
        "category": ["Sports", "Politics", "Crypto"][i % 3],
        "outcomes": '["Yes", "No"]',
        "outcomePrices": orjson.dumps([str(yes), str(round(1 - yes, 3))]).decode(),
        "clobTokenIds": orjson.dumps([str(10**20 + 2 * i), str(10**20 + 2 * i + 1)]).decode(),
        "volumeNum": 1000.0 * (i % 97) + version,
        "volume24hr": 10.0 * (i % 13),
        "liquidityNum": 500.0 + i % 50,
        "bestBid": round(yes - 0.005, 3),
        "bestAsk": round(yes + 0.005, 3),
        "lastTradePrice": yes,
        "active": True,
        "closed": False,
        "negRisk": False,
        "orderPriceMinTickSize": 0.001,
        "events": [{"id": str(9000 + i // 10), "title": f"Benchmark event {i // 10}"}],
    }


def normalize(page: RawResponse) -> list[Market]:
    """Gamma items to unified markets (the benchmark's stand-in for the adapter's parser)."""
    out: list[Market] = []
    for item in page.body:
        labels = orjson.loads(item["outcomes"])
        prices = orjson.loads(item["outcomePrices"])
        tokens = orjson.loads(item["clobTokenIds"])
        event = item["events"][0]
        out.append(
            Market(
                venue="polymarket",
                native_id=item["id"],
                question=item["question"],
                outcomes=[
                    Outcome(k, label, token_id=tokens[k], price=Decimal(prices[k]))
                    for k, label in enumerate(labels)
                ],
                status=MarketStatus.OPEN,
                event_native_id=event["id"],
                event_title=event["title"],
                condition_id=item["conditionId"],
                slug=item["slug"],
                description=item["description"],
                category=item["category"],
                end_at=datetime.fromisoformat(item["endDate"]),
                updated_at=datetime.fromisoformat(item["updatedAt"]),
                volume_total=Decimal(str(item["volumeNum"])),
                volume_24h=Decimal(str(item["volume24hr"])),
                liquidity=Decimal(str(item["liquidityNum"])),
                tick_size=Decimal(str(item["orderPriceMinTickSize"])),
                best_bid=Decimal(str(item["bestBid"])),
                best_ask=Decimal(str(item["bestAsk"])),
                last_price=Decimal(str(item["lastTradePrice"])),
                extra={"negRisk": item["negRisk"]},
                raw=page,
            )
        )
    return out


def _frozen(pages: list[RawResponse]) -> list[RawResponse]:
    """`pages`, kept out of the garbage collector's passes from now on (gc.freeze).

    The synthetic input is built before the clock starts and held whole, every
    page of the catalogue at once, where a load holds the pages it is writing.
    Without this the write path pays for the collector walking the whole
    prebuilt input in each full collection (about 0.1 s of its 0.6 s of CPU at
    20,000 markets). The process's start-up objects are frozen with it, which
    a worker does not do; the write path's own objects are collected as ever.
    """
    gc.freeze()
    return pages


def market_pages(n: int, per_page: int, version: int, seed: int = 1) -> list[RawResponse]:
    rng = random.Random(seed)
    items = [gamma_market(i, rng, version) for i in range(n)]
    return _frozen(
        [
            RawResponse(
                venue="polymarket",
                endpoint="/markets/keyset",
                params={"page": p, "v": version},
                status=200,
                fetched_at=datetime.now(UTC),
                body=items[p : p + per_page],
            )
            for p in range(0, n, per_page)
        ]
    )


def trade_pages(markets: int, per_market: int, per_page: int) -> list[RawResponse]:
    pages: list[RawResponse] = []
    rows: list[dict[str, Any]] = []
    for i in range(markets):
        for k in range(per_market):
            rows.append(
                {
                    "conditionId": "0x" + f"{i:064x}",
                    "market": str(500000 + i),
                    "outcomeIndex": k % 2,
                    "price": 0.5,
                    "size": k + 1,
                    "side": "BUY",
                    "timestamp": 1767225600 + k,
                    "transactionHash": f"0x{i:08x}{k:08x}",
                }
            )
    for p in range(0, len(rows), per_page):
        pages.append(
            RawResponse(
                venue="polymarket",
                endpoint="/trades",
                params={"offset": p},
                status=200,
                fetched_at=datetime.now(UTC),
                body=rows[p : p + per_page],
            )
        )
    return _frozen(pages)


def normalize_trades(page: RawResponse) -> list[Trade]:
    return [
        Trade(
            venue="polymarket",
            market_native_id=t["market"],
            trade_key=f"{t['transactionHash']}:{t['outcomeIndex']}",
            price=Decimal(str(t["price"])),
            size=Decimal(str(t["size"])),
            executed_at=datetime.fromtimestamp(t["timestamp"], UTC),
            outcome_index=t["outcomeIndex"],
            side=t["side"].lower(),
            tx_hash=t["transactionHash"],
            raw=page,
        )
        for t in page.body
    ]


async def n_tup_upd(pool: asyncpg.Pool, conn: asyncpg.Connection, table: str) -> int:
    """The table's cumulative updated-row count, with every writer's counters flushed.

    A backend reports its counters at the end of a transaction at most once a
    second; pg_stat_force_next_flush() makes its next transaction report. So
    hold every pool connection at once and end one transaction on each.
    """
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        for c in held:
            await c.execute("SELECT pg_stat_force_next_flush()")
            await c.execute("SELECT 1")
    finally:
        for c in held:
            await pool.release(c)
    await asyncio.sleep(0.05)
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    value: int = await conn.fetchval(
        "SELECT n_tup_upd FROM pg_stat_all_tables WHERE schemaname = 'silver' AND relname = $1",
        table,
    )
    return value


def _batch(kind: str, group: list[RawResponse], items: list[Any]) -> Batch:
    """The batch the pipeline writes for these pages.

    A listing page is written as the pipeline's catalogue loads write it
    (`Ingestor._market_batch`): its markets stamped metadata-synced, which
    gives every market of the batch its `metadata_synced_at`.
    """
    if kind == "markets":
        return Batch(raw=group, markets=items, metadata_synced=True)
    return Batch(raw=group, trades=items)


async def _write_pages(
    pool: asyncpg.Pool,
    pages: list[RawResponse],
    parse: Callable[[RawResponse], list[Any]],
    kind: str,
    *,
    chunk: int,
    writers: int,
) -> tuple[float, float]:
    """Normalize and write `pages`, `chunk` pages a transaction, `writers` at once.

    Returns (wall seconds, seconds spent normalising). Each writer takes the
    next chunk, normalises it and writes it on its own connection, as the
    worker's concurrent jobs do; on two cores one writer's Python work then
    overlaps another's database work.
    """
    groups = iter([pages[p : p + chunk] for p in range(0, len(pages), chunk)])
    normalizing = 0.0

    async def writer() -> None:
        nonlocal normalizing
        for group in groups:
            t = time.perf_counter()
            items = [item for page in group for item in parse(page)]
            normalizing += time.perf_counter() - t
            async with pool.acquire() as conn, conn.transaction():
                await write_batch(conn, _batch(kind, group, items))

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return time.perf_counter() - started, normalizing


_SEARCH_FLOOR = """
ALTER TABLE {name} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(question, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(event_title, '')), 'B')
) STORED;
ALTER TABLE {name} ADD UNIQUE (venue, native_id);
CREATE INDEX ON {name} USING gin (search_vector);
"""
_BRONZE_DDL = "venue text, endpoint text, params jsonb, status smallint, payload jsonb"


async def _plain_copy(
    conn: asyncpg.Connection, name: str, ddl: str, records: list[Any], extra_ddl: str = ""
) -> float:
    await conn.execute(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({ddl})")
    if extra_ddl:
        await conn.execute(extra_ddl.format(name=name))
    started = time.perf_counter()
    columns = [c.split()[0] for c in ddl.split(",")]
    await conn.copy_records_to_table(name, records=records, columns=columns)
    return time.perf_counter() - started


def _server_cpu(pids: list[int]) -> float | None:
    """CPU seconds the server processes `pids` have used, when the server runs on this machine.

    Wall time on shared cores moves with the load; the server's own CPU time
    for the same work moves far less, so it is printed beside the wall figure.
    """
    try:
        return sum(int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) for pid in pids) / 1e9
    except (OSError, ValueError, IndexError):
        return None


async def _server_pids(pool: asyncpg.Pool) -> list[int]:
    """The server process behind each of the pool's connections (all of them opened)."""
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        return [int(await c.fetchval("SELECT pg_backend_pid()")) for c in held]
    finally:
        for c in held:
            await pool.release(c)


def _bronze_records(pages: list[RawResponse]) -> list[tuple[Any, ...]]:
    return [
        (
            p.venue,
            p.endpoint,
            JsonText(orjson.dumps(p.params).decode()),
            p.status,
            JsonText(orjson.dumps(p.body).decode()),
        )
        for p in pages
    ]


async def _baseline(
    conn: asyncpg.Connection, tag: str, ddl: str, rows: list[Any], pages: list[RawResponse]
) -> tuple[float, float]:
    """Seconds to COPY the silver rows, and the bronze pages, into unindexed tables."""
    silver_s = await _plain_copy(conn, f"bench_plain_{tag}", ddl, rows)
    bronze_s = await _plain_copy(
        conn, f"bench_plain_{tag}_pages", _BRONZE_DDL, _bronze_records(pages)
    )
    return silver_s, bronze_s


def _report(what: str, n: int, seconds: float, silver_s: float, bronze_s: float) -> None:
    ours = n / seconds
    both = n / (silver_s + bronze_s)
    print(
        f"{what}: plain COPY of the same rows into unindexed tables: silver rows {silver_s:.2f}s"
        f" + bronze pages {bronze_s:.2f}s = {both:,.0f}/s (silver rows alone {n / silver_s:,.0f}/s)"
    )
    print(
        f"{what}: ratio {ours / both:.2f} against silver + bronze (goal >= 0.5);"
        f" {ours / (n / silver_s):.2f} against the silver rows alone"
    )


async def bench_db(n_markets: int, trades_per_market: int, writers: int) -> None:
    async with scratch_database() as url:
        pool = await create_pool(url, min_size=1, max_size=max(4, writers))
        conn = await connect(url)
        try:
            print(f"database side, {writers} concurrent writer(s), ten pages a transaction")
            pages = market_pages(n_markets, 100, version=0)
            pids = await _server_pids(pool)
            cpu_before = _server_cpu(pids)
            seconds, norm = await _write_pages(
                pool, pages, normalize, "markets", chunk=10, writers=writers
            )
            cpu_after = _server_cpu(pids)
            from predhub.ingest.silver.catalog import MARKETS_IN

            records = [_market_record(m) for page in pages for m in normalize(page)]
            own = [int(await conn.fetchval("SELECT pg_backend_pid()"))]
            copy_before = _server_cpu(own)
            silver_s, bronze_s = await _baseline(conn, "markets", MARKETS_IN.ddl, records, pages)
            copy_after = _server_cpu(own)
            print(
                f"markets: {n_markets} through normalize+bronze+silver in {seconds:.2f}s"
                f" = {n_markets / seconds:,.0f}/s (normalize alone {norm:.2f}s)"
            )
            _report("markets", n_markets, seconds, silver_s, bronze_s)
            if (
                cpu_before is not None
                and cpu_after is not None
                and copy_before is not None
                and copy_after is not None
            ):
                ours_cpu, copy_cpu = cpu_after - cpu_before, copy_after - copy_before
                print(
                    f"markets: server CPU {ours_cpu:.2f}s for the write path vs {copy_cpu:.2f}s"
                    f" for the plain COPY (silver rows and bronze pages): ratio"
                    f" {copy_cpu / ours_cpu:.2f}; {ours_cpu / n_markets * 1e6:.0f} us a market"
                )
            floor_s = await _plain_copy(
                conn, "bench_search_floor", MARKETS_IN.ddl, records, _SEARCH_FLOOR
            )
            print(
                f"markets: search-vector floor (COPY with a generated tsvector, unique key and"
                f" GIN index only) {floor_s:.2f}s = {n_markets / floor_s:,.0f}/s"
            )

            async def apply(version: int) -> float:
                pages = market_pages(n_markets, 100, version=version)
                seconds, _ = await _write_pages(
                    pool, pages, normalize, "markets", chunk=10, writers=writers
                )
                return seconds

            upd0 = await n_tup_upd(pool, conn, "markets")
            same = await apply(0)
            upd1 = await n_tup_upd(pool, conn, "markets")
            changed = await apply(1)
            upd2 = await n_tup_upd(pool, conn, "markets")
            print(
                f"re-apply unchanged: {same:.2f}s, n_tup_upd {upd0} -> {upd1} (+{upd1 - upd0}); "
                f"changed: {changed:.2f}s, n_tup_upd +{upd2 - upd1}; "
                f"unchanged/changed time {same / changed:.2f} (goal <= 0.6)"
            )

            tpages = trade_pages(n_markets, trades_per_market, 1000)
            n_trades = n_markets * trades_per_market
            tsec, tnorm = await _write_pages(
                pool, tpages, normalize_trades, "trades", chunk=10, writers=writers
            )
            from predhub.ingest.silver.trades import TRADES_IN

            trecords = [
                _trade_record(i, t)
                for i, t in enumerate(t for page in tpages for t in normalize_trades(page))
            ]
            tsilver_s, tbronze_s = await _baseline(conn, "trades", TRADES_IN.ddl, trecords, tpages)
            print(
                f"trades: {n_trades} through normalize+bronze+silver in {tsec:.2f}s"
                f" = {n_trades / tsec:,.0f}/s (normalize alone {tnorm:.2f}s)"
            )
            _report("trades", n_trades, tsec, tsilver_s, tbronze_s)
        finally:
            await conn.close()
            await pool.close()


# ----------------------------------------------------------------------------- simulator loads
async def _sim_loads(which: str, markets: int) -> None:
    from predhub.ingest.pipeline import Ingestor
    from predhub.sim.config import SimConfig
    from predhub.sim.testing import running_simulator
    from predhub.venues.registry import build_venue

    config = SimConfig(seed=7, polymarket_markets=markets, speed=0.0, start=1_790_000_000.0)
    with running_simulator(config) as sim:
        async with scratch_database() as url:
            settings = sim.settings()
            pool = await create_pool(url, min_size=2, max_size=settings.db_pool_max)
            venue = build_venue("polymarket", settings)
            try:
                ingestor = Ingestor(pool, venue, settings)
                started = time.perf_counter()
                static = await ingestor.static_load()
                wall = time.perf_counter() - started
                held = await pool.fetchval("SELECT count(*) FROM silver.markets")
                quotes = await pool.fetchval("SELECT count(*) FROM silver.quotes")
                print(
                    f"static: {held} markets, {quotes} quotes in {wall:.1f}s wall "
                    f"(the previous loader: ~300 s; goal < 30 s); {static.requests} requests, "
                    f"{static.retries} retries, {static.quarantined} quarantined"
                )
                if which not in ("delta", "all"):
                    return
                before = sim.truth(venue="polymarket", trades=False)
                step = 60.0
                changed = 0
                while changed < 100 and step < 86400:
                    sim.advance(step)
                    after = sim.truth(venue="polymarket", trades=False)
                    old = {m["market"]: m["updated_at"] for m in before["markets"]}
                    changed = sum(
                        1 for m in after["markets"] if old.get(m["market"]) != m["updated_at"]
                    )
                    step *= 2
                started = time.perf_counter()
                delta = await ingestor.delta_load()
                wall = time.perf_counter() - started
                print(
                    f"delta: {changed} markets changed at the venue; fetched {delta.fetched}, "
                    f"inserted {delta.inserted}, updated {delta.updated}, unchanged "
                    f"{delta.unchanged}, {delta.requests} requests in {wall:.2f}s wall "
                    f"(the previous loader: ~20 s; goal < 2 s)"
                )
            finally:
                await venue.close()
                await pool.close()


# Per venue: the largest closed-listing page, the trades endpoint (its template, its largest
# page and whether one request may name many markets), and the price-history endpoints:
# the one read a market (or an outcome token) at a time with its requests per market, and
# the batch one with its markets per request ("" where the venue has none).
_HISTORY_FLOOR: dict[str, tuple[int, str, int, bool, tuple[str, ...], int, str, int]] = {
    "polymarket": (1000, "/trades", 10_000, True, ("/prices-history",), 2, "", 0),
    "kalshi": (
        1000,
        "/markets/trades",
        1000,
        False,
        (
            "/historical/markets/{ticker}/candlesticks",
            "/series/{series_ticker}/markets/{ticker}/candlesticks",
        ),
        1,
        "/markets/candlesticks",
        100,
    ),
}
KALSHI_ARCHIVE_AFTER = 30 * 86_400  # the simulator's historical cutoff (settled a month ago)


def _history_floor_split(sim: Any, venue_name: str, history_markets: int) -> tuple[int, int]:
    """(markets the batch endpoint may serve, markets read one at a time) of a history load.

    Kalshi's batch candlesticks serve the live set only: a market that closed
    before the historical cutoff is read alone, from `/historical`.
    """
    if venue_name != "kalshi":
        return 0, history_markets
    world = sim.truth(venue=venue_name, trades=False)
    cutoff = world["now"] - KALSHI_ARCHIVE_AFTER
    closed = [m for m in world["markets"] if m["status"] != "open"]
    archived = sum(1 for m in closed if m["close_at"] < cutoff)
    return history_markets - archived, archived


async def _history_load(venue_name: str, closed: int) -> None:
    import math

    from predhub.ingest.pipeline import Ingestor
    from predhub.sim.config import SimConfig
    from predhub.sim.testing import running_simulator
    from predhub.venues.registry import build_venue

    config = SimConfig(
        seed=7,
        markets={venue_name: 50},
        closed={venue_name: closed},
        speed=0.0,
        start=1_790_000_000.0,
        latency_scale=0.0,
        rate_limits=False,
    )
    started = time.perf_counter()
    with running_simulator(config) as sim:
        built = time.perf_counter() - started
        print(
            f"history: {venue_name}, simulator with {closed} closed markets built in {built:.1f}s"
        )
        async with scratch_database() as url:
            settings = sim.settings()
            pool = await create_pool(url, min_size=2, max_size=settings.db_pool_max)
            venue = build_venue(venue_name, settings)
            try:
                started = time.perf_counter()
                walked = pages = 0
                async for page in venue.closed_markets():
                    walked += len(page.items)
                    pages += 1
                bare = time.perf_counter() - started
                ingestor = Ingestor(pool, venue, settings)
                sim.reset_stats()
                cpu = time.process_time()
                started = time.perf_counter()
                summary, report = await ingestor.history_load()
                wall = time.perf_counter() - started
                cpu = time.process_time() - cpu
                served: dict[str, int] = {}  # the simulator counts per endpoint and status
                for r in sim.stats()["requests"]:
                    if r["venue"] == venue_name:
                        served[r["endpoint"]] = served.get(r["endpoint"], 0) + r["count"]
                markets = await pool.fetchval(
                    "SELECT count(*) FROM silver.markets WHERE status <> 'open'"
                )
                trades = await pool.fetchval("SELECT count(*) FROM silver.trades")
                per_market = await pool.fetch(
                    "SELECT count(*) AS n FROM silver.trades GROUP BY market_id"
                )
                (
                    page_max,
                    trades_endpoint,
                    trades_page,
                    many,
                    history_endpoints,
                    history_per_market,
                    batch_endpoint,
                    batch_markets,
                ) = _HISTORY_FLOOR[venue_name]
                listing_floor = math.ceil(report.markets / page_max)
                if many:  # one request pages through any set of markets' trades
                    trades_floor = math.ceil(trades / trades_page)
                else:  # at least a request per traded market, a page at a time
                    trades_floor = sum(math.ceil(r["n"] / trades_page) for r in per_market)
                batched, alone = _history_floor_split(sim, venue_name, report.history_markets)
                batch_floor = math.ceil(batched / batch_markets) if batch_markets else 0
                history_floor = history_per_market * alone + batch_floor
                floor = listing_floor + trades_floor + history_floor
                spent_trades = served.get(trades_endpoint, 0)
                alone_spent = sum(served.get(e, 0) for e in history_endpoints)
                spent_history = alone_spent + served.get(batch_endpoint, 0)
                other = summary.requests - report.pages - spent_trades - spent_history
                print(
                    f"history: {report.markets} closed markets listed in {report.pages} pages, "
                    f"{markets} closed markets and {trades} trades stored in {wall:.1f}s wall: "
                    f"{markets / wall:.0f} markets/s, {trades / wall:.0f} trades/s "
                    f"(complete: {report.complete}, failures: {summary.failures}); this "
                    f"process (loader and simulator) used {cpu:.0f} s of CPU, load average "
                    f"{os.getloadavg()[0]:.1f} at the end"
                )
                print(
                    f"history: baseline bare listing walk {walked} markets in {pages} pages, "
                    f"{bare:.1f}s ({walked / max(bare, 1e-9):.0f} markets/s); the full load "
                    f"takes {wall / max(bare, 1e-9):.1f}x the bare walk"
                )
                print(
                    f"history: {summary.requests} requests against a minimum of {floor}: "
                    f"ratio {summary.requests / max(floor, 1):.2f}; listing "
                    f"{report.pages} vs {listing_floor} ({page_max} a page), trades "
                    f"{spent_trades} vs {trades_floor} ({trades_page} a page"
                    f"{', many markets a request' if many else ', one market a request'}), "
                    f"price history {spent_history} vs {history_floor} "
                    f"({history_per_market} a market"
                    + (
                        f": {alone_spent} for {alone} read alone; "
                        f"{served.get(batch_endpoint, 0)} batch "
                        f"requests vs {batch_floor} for {batched} markets, {batch_markets} "
                        f"a request"
                        if batch_markets
                        else ""
                    )
                    + f"); other requests {other}, retries {summary.retries}"
                )
                print(
                    "history: served, per endpoint: "
                    + ", ".join(f"{e} {n}" for e, n in sorted(served.items(), key=lambda x: -x[1]))
                )
            finally:
                await venue.close()
                await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "which", choices=["db", "static", "delta", "history", "all"], nargs="?", default="all"
    )
    parser.add_argument(
        "--closed", type=int, default=2000, help="closed markets in `history` (200000: full size)"
    )
    parser.add_argument("--venue", choices=sorted(_HISTORY_FLOOR), default="polymarket")
    parser.add_argument("--markets", type=int, default=5500)
    parser.add_argument("--trades-per-market", type=int, default=40)
    parser.add_argument(
        "--writers", type=int, default=2, help="concurrent writers in `db` (the worker's jobs)"
    )
    args = parser.parse_args()
    configure_logging("WARNING")
    if args.which in ("db", "all"):
        asyncio.run(bench_db(args.markets, args.trades_per_market, args.writers))
    if args.which in ("static", "delta", "all"):
        asyncio.run(_sim_loads(args.which, args.markets))
    if args.which in ("history", "all"):
        asyncio.run(_history_load(args.venue, args.closed))


if __name__ == "__main__":
    main()
