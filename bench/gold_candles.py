"""Price history benchmark, the "candles" part of bench/gold.py (run it from there).

    python bench/gold.py candles [--markets 250] [--days 14] [--requests 300]

Silver is filled by COPY with a minute of price history per outcome for
`--days` days (250 binary markets over 14 days: 10.08 million points), in
a scratch database (the embedded PostgreSQL in a
temporary directory, or DATABASE_URL's server). The rollup then runs as the
worker runs it, until every bucket is rolled up (its time is printed), and
candles are read as the API reads them, for one random market per request:

- a week of hourly candles (from the hourly rollup);
- a day of 1-minute candles (from the points themselves);

p50/p99 of each (goal: p99 under 20 ms), then the bytes a market-day takes
at each resolution (table, indexes and TOAST, over markets times days).
"""

from __future__ import annotations

import io
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg

from _scratch import scratch_database
from predhub.db.connect import connect, create_pool
from predhub.gold.history import rollup
from predhub.service import candles
from predhub.settings import Settings

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TABLES = {
    "1m points (silver.price_history)": "silver.price_history",
    "15m (gold.market_price_history)": "gold.market_price_history",
    "1h": "gold.market_price_history_1h",
    "1d": "gold.market_price_history_1d",
}


def _walk(rng: random.Random, minutes: int) -> Iterator[str]:
    """A bounded random walk in tenths of a cent, one price a minute, as text."""
    p = rng.randint(200, 800)
    for _ in range(minutes):
        p = min(999, max(1, p + rng.choice((-1, 0, 0, 0, 1))))
        yield f"0.{p:03d}"


async def fill(conn: asyncpg.Connection, markets: int, days: int) -> tuple[list[int], float]:
    """`markets` binary markets with a point a minute per outcome; returns ids, COPY seconds."""
    await conn.copy_records_to_table(
        "markets",
        schema_name="silver",
        records=[
            ("polymarket", f"m{i}", f"Will thing {i} happen?", "open") for i in range(markets)
        ],
        columns=["venue", "native_id", "question", "status"],
    )
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM silver.markets ORDER BY id")]
    await conn.copy_records_to_table(
        "outcomes",
        schema_name="silver",
        records=[(m, i, label) for m in ids for i, label in enumerate(("Yes", "No"))],
        columns=["market_id", "idx", "label"],
    )
    outcomes = [r["id"] for r in await conn.fetch("SELECT id FROM silver.outcomes ORDER BY id")]
    minutes = days * 1440
    start = NOW - timedelta(minutes=minutes)
    stamps = [(start + timedelta(minutes=k)).isoformat() for k in range(minutes)]
    rng = random.Random(7)
    started = time.perf_counter()
    for first in range(0, len(outcomes), 20):  # twenty outcomes a COPY
        text = "".join(
            f"{outcome},{stamp},{price},quote\n"
            for outcome in outcomes[first : first + 20]
            for stamp, price in zip(stamps, _walk(rng, minutes), strict=True)
        )
        await conn.copy_to_table(
            "price_history",
            schema_name="silver",
            source=io.BytesIO(text.encode()),
            columns=["outcome_id", "ts", "price", "source"],
            format="csv",
        )
    return ids, time.perf_counter() - started


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"


async def part_candles(markets: int, days: int, requests: int) -> None:
    async with scratch_database() as url:
        conn = await connect(url)
        ids, copied = await fill(conn, markets, days)
        points = await conn.fetchval("SELECT count(*) FROM silver.price_history")
        print(
            f"filled {points:,} points ({markets} markets x 2 outcomes x {days} days) by COPY "
            f"in {copied:.1f} s ({points / copied:,.0f}/s, the dirty-bucket trigger included)"
        )
        settings = Settings(history_1m_retention_days=days + 1)
        started = time.perf_counter()
        runs = buckets = 0
        while True:
            report = await rollup(conn, settings, now=NOW, force=True)
            runs += 1
            buckets += report.buckets
            if not report.buckets:
                break
        took = time.perf_counter() - started
        print(
            f"rollup of every bucket: {buckets:,} 15-minute buckets in {runs} runs, {took:.1f} s "
            f"({buckets / took:,.0f} buckets/s)"
        )
        await conn.execute("VACUUM ANALYZE")
        await conn.close()

        pool = await create_pool(url, min_size=1, max_size=2)
        rng = random.Random(11)
        try:
            for label, interval, span in (
                ("a week of hourly candles", "1h", timedelta(days=7)),
                ("a day of 1-minute candles", "1m", timedelta(days=1)),
            ):
                samples: list[float] = []
                rows = 0
                for n in range(requests + 20):
                    market = rng.choice(ids)
                    end = NOW - timedelta(hours=rng.randint(0, 24))
                    start, end = candles.window(
                        interval, start=end - span, end=end, range_name=None
                    )
                    t0 = time.perf_counter()
                    got = await candles.candles(pool, market, 0, interval, start, end)
                    if n >= 20:  # the first few warm the pool and the plan cache
                        samples.append(time.perf_counter() - t0)
                        rows += len(got)
                print(
                    f"{label}: {_ms(samples)} over {requests} requests "
                    f"({rows / requests:.0f} candles each; goal p99 < 20 ms)"
                )
            async with pool.acquire() as c:
                for label, table in TABLES.items():
                    size = await c.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
                    print(f"bytes per market-day, {label}: {size / (markets * days):,.0f}")
        finally:
            await pool.close()
