"""Time partitioning benchmark: retention by DROP against DELETE, hot reads against a flat copy.

    python bench/partition.py [--trades 3000000] [--markets 2000] [--requests 300]

In a scratch database (the embedded PostgreSQL in a temporary directory, or
DATABASE_URL's server), `--trades` trades over three months are COPYed into
the partitioned `silver.trades` (monthly) and into an unpartitioned copy with
the same indexes (the table as it was before migration 0017). Then, in the
same run:

1. the hot reads, each on both tables for random markets: a market's newest
   page of 50 trades (the API's first page) and a market's trades of one day
   two months back (a history range); p50 of each and the ratio;
2. retention of the oldest month (a third of the trades): the partitioned
   table drops it (`predhub.db.partitions.drop_before`: DETACH CONCURRENTLY,
   DROP), the flat copy deletes its rows (`DELETE ... WHERE executed_at <`);
   the time of each and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from _scratch import scratch_database
from predhub.db import partitions
from predhub.db.connect import connect

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
FLAT = "bench_trades_flat"

# The flat copy: silver.trades as it was before partitioning (same columns and indexes).
FLAT_DDL = f"""
CREATE TABLE {FLAT} (LIKE silver.trades INCLUDING DEFAULTS);
ALTER TABLE {FLAT} ADD PRIMARY KEY (id), ADD UNIQUE (venue, trade_key);
CREATE INDEX ON {FLAT} (market_id, executed_at DESC, id DESC);
"""
PAGE = """
SELECT id, trade_key, price, size, side, executed_at FROM {table}
WHERE market_id = $1 ORDER BY executed_at DESC, id DESC LIMIT 50
"""
DAY = """
SELECT id, price, size, executed_at FROM {table}
WHERE market_id = $1 AND executed_at >= $2 AND executed_at < $2 + interval '1 day'
ORDER BY executed_at
"""
COLUMNS = ("id", "venue", "market_id", "trade_key", "price", "size", "side", "executed_at")


def _rows(count: int, markets: int, seed: int = 7) -> Iterator[tuple[object, ...]]:
    rng = random.Random(seed)
    span = (END - START).total_seconds()
    for i in range(1, count + 1):
        at = START + timedelta(seconds=span * i / (count + 1))
        yield (
            i,
            "kalshi",
            rng.randrange(markets) + 1,
            f"t{i}",
            Decimal(rng.randint(1, 99)) / 100,
            Decimal(rng.randint(1, 500)),
            "buy",
            at,
        )


async def fill(conn: asyncpg.Connection, count: int, markets: int) -> float:
    """COPY the trades into both tables; seconds taken."""
    await conn.execute(FLAT_DDL)
    await partitions.ensure(
        conn, partitions.TRADES, [START, START + timedelta(days=40), START + timedelta(days=70)]
    )
    started = time.perf_counter()
    batch: list[tuple[object, ...]] = []
    for row in _rows(count, markets):
        batch.append(row)
        if len(batch) == 200_000:
            await _copy(conn, batch)
            batch = []
    if batch:
        await _copy(conn, batch)
    await conn.execute("ANALYZE silver.trades")
    await conn.execute(f"ANALYZE {FLAT}")
    return time.perf_counter() - started


async def _copy(conn: asyncpg.Connection, batch: list[tuple[object, ...]]) -> None:
    # the same ids in both (COPY may set an identity column, as the migration does)
    await conn.copy_records_to_table("trades", schema_name="silver", records=batch, columns=COLUMNS)
    await conn.copy_records_to_table(FLAT, records=batch, columns=COLUMNS)


async def timed_reads(conn: asyncpg.Connection, sql: str, args: list[tuple[object, ...]]) -> float:
    """Median seconds of `sql` over `args` (prepared once, as the API's pool does)."""
    stmt = await conn.prepare(sql)
    times: list[float] = []
    for a in args:
        started = time.perf_counter()
        await stmt.fetch(*a)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def main(count: int, markets: int, requests: int) -> None:
    async with scratch_database() as url:
        conn = await connect(url)
        copied = await fill(conn, count, markets)
        print(f"filled {count:,} trades into both tables by COPY in {copied:.1f} s")
        rng = random.Random(11)
        pages = [(rng.randrange(markets) + 1,) for _ in range(requests)]
        days = [(rng.randrange(markets) + 1, datetime(2026, 2, 1, tzinfo=UTC)) for _ in pages]
        print("| read | partitioned p50 | unpartitioned p50 | ratio |")
        print("|---|---|---|---|")
        for name, sql, args in (
            ("newest 50 trades of a market", PAGE, pages),
            ("a market's day two months back", DAY, days),
        ):
            await timed_reads(conn, sql.format(table="silver.trades"), args[:20])  # warm
            part = await timed_reads(conn, sql.format(table="silver.trades"), args)
            flat = await timed_reads(conn, sql.format(table=FLAT), args)
            print(f"| {name} | {part * 1000:.3f} ms | {flat * 1000:.3f} ms | {flat / part:.2f}x |")
        cutoff = datetime(2026, 2, 1, tzinfo=UTC)
        month = await conn.fetchval(f"SELECT count(*) FROM {FLAT} WHERE executed_at < $1", cutoff)
        started = time.perf_counter()
        dropped = await partitions.drop_before(conn, partitions.TRADES, cutoff)
        drop_s = time.perf_counter() - started
        started = time.perf_counter()
        status = await conn.execute(f"DELETE FROM {FLAT} WHERE executed_at < $1", cutoff)
        delete_s = time.perf_counter() - started
        assert dropped.rows == month == int(status.split()[-1]), (dropped, month, status)
        print(
            f"retention of the oldest month ({month:,} trades): DROP {drop_s:.2f} s "
            f"({', '.join(dropped.partitions)}, rows counted first), DELETE {delete_s:.2f} s, "
            f"DELETE / DROP {delete_s / drop_s:.0f}x"
        )
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trades", type=int, default=3_000_000)
    parser.add_argument("--markets", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.trades, args.markets, args.requests))
