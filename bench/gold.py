"""Gold-layer benchmarks; every figure is printed.

    python bench/gold.py refresh    # incremental refresh after 100 changed markets, 5,500 vs 55,000
    python bench/gold.py candles    # price history: 10 million points, rollup, candle p99, bytes
    python bench/gold.py all        # every part

Parts are independent functions in PARTS; each builds its own scratch
database (the embedded PostgreSQL in a temporary directory, or a scratch
database on DATABASE_URL's server) and prints its figures.

refresh
-------
Silver is filled by COPY with N markets (spread over the venues, two outcomes
each, quotes, a week of price history and a day of trades for a tenth of
them), gold is built once from scratch (the full rebuild, printed), then 100
markets change (volume and quote) and the incremental refresh is timed
(median of several rounds). Its cost should follow the 100 changes, not the
catalogue: the goal is that 55,000 markets take at most 1.5 times as long
as 5,500.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from _scratch import scratch_database
from gold_candles import part_candles
from predhub.db.connect import connect
from predhub.gold.refresh import GoldConfig, mark_all, refresh
from predhub.logging import configure_logging

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
VENUES = ("polymarket", "kalshi", "limitless", "opinion")
CONFIG = GoldConfig(
    venues=VENUES,
    top_n={"polymarket": 300, "kalshi": 150, "limitless": 30, "opinion": 20},
    floors={"polymarket": 30_000.0, "kalshi": 10_000.0, "limitless": 1_000.0, "opinion": 1_000.0},
    overall_n=500,
)


# ----------------------------------------------------------------------------- refresh
async def fill_silver(conn: asyncpg.Connection, n: int, rng: random.Random) -> None:
    """N markets in N/5 events, with outcomes, quotes, a week of history, some trades."""
    events = [
        (i + 1, VENUES[i % 4], f"e{i}", f"Event {i}", ["Crypto", "Politics", None][i % 3])
        for i in range(n // 5)
    ]
    await conn.copy_records_to_table(
        "events",
        schema_name="silver",
        records=[(v, nid, t, c) for _, v, nid, t, c in events],
        columns=["venue", "native_id", "title", "category"],
    )
    markets = []
    for i in range(n):
        event_id = i // 5 + 1
        venue = events[event_id - 1][1]
        volume = Decimal(int(rng.paretovariate(1.2) * 500))
        markets.append(
            (
                i + 1,
                venue,
                f"m{i}",
                event_id,
                f"Will thing {i} happen?",
                "open",
                volume,
                volume * 20,
                Decimal(1000),
                NOW - timedelta(seconds=rng.randint(0, 900)),
            )
        )
    await conn.copy_records_to_table(
        "markets",
        schema_name="silver",
        records=[r[:-1] for r in markets],
        columns=[
            "id",
            "venue",
            "native_id",
            "event_id",
            "question",
            "status",
            "volume_24h",
            "volume_total",
            "liquidity",
        ],
    )
    await conn.execute(
        "UPDATE silver.market_sync s SET quotes_synced_at = t.at"
        " FROM unnest($1::bigint[], $2::timestamptz[]) AS t (id, at) WHERE s.market_id = t.id",
        [r[0] for r in markets],
        [r[-1] for r in markets],
    )
    outcomes = [(m * 2 + k + 1, m + 1, k, ("Yes", "No")[k]) for m in range(n) for k in (0, 1)]
    await conn.copy_records_to_table(
        "outcomes",
        schema_name="silver",
        records=outcomes,
        columns=["id", "market_id", "idx", "label"],
    )
    prices = [Decimal(rng.randint(5, 95)) / 100 for _ in range(n)]
    await conn.copy_records_to_table(
        "quotes",
        schema_name="silver",
        records=[
            (m * 2 + k + 1, m + 1, prices[m] if k == 0 else 1 - prices[m], NOW, NOW)
            for m in range(n)
            for k in (0, 1)
        ],
        columns=["outcome_id", "market_id", "price", "observed_at", "fetched_at"],
    )
    history = [
        (m * 2 + 1, NOW - timedelta(hours=h), Decimal(rng.randint(5, 95)) / 100)
        for m in range(n)
        for h in (0, 1, 2, 12, 24, 48, 96, 168)
    ]
    await conn.copy_records_to_table(
        "price_history",
        schema_name="silver",
        records=history,
        columns=["outcome_id", "ts", "price"],
    )
    trades = [
        (
            VENUES[0],
            m + 1,
            f"t{m}-{j}",
            Decimal("0.5"),
            Decimal(rng.randint(1, 500)),
            NOW - timedelta(minutes=rng.randint(0, 2880)),
        )
        for m in range(0, n, 10)
        for j in range(10)
    ]
    await conn.copy_records_to_table(
        "trades",
        schema_name="silver",
        records=trades,
        columns=["venue", "market_id", "trade_key", "price", "size", "executed_at"],
    )
    await conn.execute("ANALYZE")


async def refresh_at(n: int, rounds: int) -> tuple[float, float]:
    """(full rebuild seconds, median incremental seconds after 100 changes) at N markets."""
    rng = random.Random(n)
    async with scratch_database() as url:
        conn = await connect(url)
        try:
            await fill_silver(conn, n, rng)
            await mark_all(conn)
            started = time.perf_counter()
            while (await refresh(conn, CONFIG, now=NOW)).markets:
                pass  # a rebuild larger than one batch takes several
            full = time.perf_counter() - started
            await conn.execute("ANALYZE")
            times: list[float] = []
            for r in range(rounds):
                ids = rng.sample(range(1, n + 1), 100)
                await conn.execute(
                    "UPDATE silver.markets SET volume_24h = volume_24h + 1"
                    " WHERE id = ANY($1::bigint[])",
                    ids,
                )
                await conn.execute(
                    "UPDATE silver.quotes SET price = 0.5 WHERE market_id = ANY($1::bigint[])",
                    ids[:50],
                )
                started = time.perf_counter()
                report = await refresh(conn, CONFIG, now=NOW + timedelta(minutes=r + 1))
                times.append(time.perf_counter() - started)
                assert report.markets == 100, report.markets
            return full, statistics.median(times)
        finally:
            await conn.close()


async def part_refresh(rounds: int) -> None:
    small_full, small = await refresh_at(5_500, rounds)
    large_full, large = await refresh_at(55_000, rounds)
    print("gold refresh after 100 changed markets (median of", rounds, "rounds)")
    print(
        f"  5,500 markets:  incremental {small * 1000:7.1f} ms   full rebuild {small_full:6.2f} s"
    )
    print(
        f"  55,000 markets: incremental {large * 1000:7.1f} ms   full rebuild {large_full:6.2f} s"
    )
    print(f"  ratio 55,000 / 5,500: {large / small:.2f} (goal <= 1.5)")


PARTS: dict[str, Callable[[argparse.Namespace], Awaitable[None]]] = {
    "refresh": lambda args: part_refresh(args.rounds),
    "candles": lambda args: part_candles(args.markets, args.days, args.requests),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", nargs="?", default="all", choices=[*PARTS, "all"])
    parser.add_argument("--rounds", type=int, default=7, help="refresh: timed rounds")
    parser.add_argument("--markets", type=int, default=250, help="candles: binary markets")
    parser.add_argument("--days", type=int, default=14, help="candles: days of minute points")
    parser.add_argument("--requests", type=int, default=300, help="candles: timed reads each")
    args = parser.parse_args()
    configure_logging("WARNING")
    for name, part in PARTS.items():
        if args.part in (name, "all"):
            asyncio.run(part(args))


if __name__ == "__main__":
    main()
