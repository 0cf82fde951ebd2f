"""Arbitrage benchmarks; every figure is printed.

    python bench/arbitrage.py truth            # planted arbitrages found / planted, traps reported
    python bench/arbitrage.py cycle --pairs N  # a cycle with 10 changed markets vs all changed
    python bench/arbitrage.py all

truth
-----
The simulator (over HTTP) plants cross-listed pairs and exclusive sets with
known books; both venues are loaded (catalogue and books), the planted pairs
are confirmed as matches, one gold refresh runs, and the opportunities found
are compared with the simulator's truth: found / planted, sizes within one
contract, and traps (fees or depth erase the edge) reported (goal: 0).

cycle
-----
N confirmed pairs (two binary markets each, a book per outcome, every tenth
pair priced with an edge) are written straight into a scratch database. The
arbitrage cycle is timed with every market changed (a full pass) and with 10
changed markets (the usual case); the ratio full / incremental shows the cost
follows the change, not the number of pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from _scratch import scratch_database
from predhub.db.connect import connect
from predhub.gold.arbitrage import ArbitrageConfig, cycle
from predhub.gold.refresh import GoldConfig, refresh
from predhub.ingest.pipeline import Ingestor
from predhub.logging import configure_logging
from predhub.sim.config import SimConfig
from predhub.sim.testing import running_simulator
from predhub.venues.descriptor import venue_names
from predhub.venues.registry import build_venue


# ----------------------------------------------------------------------------- truth
async def _truth(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        found: dict[str, Any] = (await http.get("/admin/arbitrage")).json()
    return found


async def part_truth(args: argparse.Namespace) -> None:
    venues = venue_names()[:2]
    with running_simulator(SimConfig.small(plant_arbitrage=True, seed=args.seed)) as sim:
        async with scratch_database() as url:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
            try:
                settings = sim.settings()
                for name in venues:
                    venue = build_venue(name, settings)
                    try:
                        ingestor = Ingestor(pool, venue, settings)
                        await ingestor.static_load()
                        ids = [
                            int(r["id"])
                            for r in await pool.fetch(
                                "SELECT id FROM silver.markets WHERE venue = $1"
                                " AND status = 'open'",
                                name,
                            )
                        ]
                        await ingestor.refresh_books(ids)
                    finally:
                        await venue.close()
                truth = await _truth(sim.base_url)
                ids = {
                    (r["venue"], r["native_id"]): int(r["id"])
                    for r in await pool.fetch("SELECT id, venue, native_id FROM silver.markets")
                }
                expected: dict[str, dict[str, Any]] = {}
                traps: set[str] = set()
                for pair in truth["pairs"]:
                    a = ids[(pair["a"]["venue"], pair["a"]["market"])]
                    b = ids[(pair["b"]["venue"], pair["b"]["market"])]
                    lo, hi = sorted((a, b))
                    match_id = await pool.fetchval(
                        "INSERT INTO gold.market_matches (market_a, market_b, relation,"
                        " confidence, status, decided_by, decided_at) VALUES ($1, $2, $3, 1,"
                        " 'confirmed', 'bench', now()) RETURNING id",
                        lo,
                        hi,
                        pair["relation"],
                    )
                    for arb in pair["arbitrage"]:
                        sides = arb["sides"] if a < b else list(reversed(arb["sides"]))
                        expected[f"match:{match_id}:{'-'.join(sides)}"] = arb
                    if pair["trap"]:
                        traps.add(f"match:{match_id}:")
                for s in truth["sets"]:
                    event_id = await pool.fetchval(
                        "SELECT event_id FROM silver.markets WHERE id = $1",
                        ids[(s["venue"], s["markets"][0]["market"])],
                    )
                    for arb in s["arbitrage"]:
                        expected[f"set:{event_id}:{arb['side']}"] = arb
                    if s["trap"]:
                        traps.add(f"set:{event_id}:")
                config = GoldConfig(
                    venues=venues,
                    top_n={v: 5 for v in venues},
                    floors={v: 0.0 for v in venues},
                    arbitrage=ArbitrageConfig(),
                )
                async with pool.acquire() as conn:
                    report = await refresh(conn, config, now=datetime.now(UTC))
                rows = await pool.fetch(
                    "SELECT key, size, profit FROM gold.arbitrage_opportunities"
                    " WHERE closed_at IS NULL"
                )
            finally:
                await pool.close()
    found = {r["key"]: r for r in rows}
    hit = [k for k in expected if k in found]
    within = [k for k in hit if abs(float(found[k]["size"]) - expected[k]["size"]) <= 1]
    trap_hits = [k for k in found if any(k.startswith(t) for t in traps)]
    extra = [k for k in found if k not in expected]
    assert report.arbitrage is not None
    print("planted arbitrages (simulator truth, over HTTP)")
    print(f"  found / planted:            {len(hit)} / {len(expected)}")
    print(f"  size within one contract:   {len(within)} / {len(hit)}")
    for k in hit:
        print(
            f"    {k:<22} size {float(found[k]['size']):>6g} (truth {expected[k]['size']:>4}),"
            f" profit {float(found[k]['profit']):.4f} (truth {expected[k]['profit']:.4f})"
        )
    print(f"  traps planted:              {len(traps)}")
    print(f"  traps reported:             {len(trap_hits)}  (goal 0)")
    print(f"  other opportunities:        {len(extra)}")
    print(
        f"  cycle: {report.arbitrage.candidates} candidate sets, {report.arbitrage.seconds:.3f} s"
    )


# ----------------------------------------------------------------------------- cycle
async def fill_pairs(conn: asyncpg.Connection, n: int) -> None:
    """N confirmed pairs: markets 2i-1 (first venue) and 2i (second venue), books on both."""
    first, second = venue_names()[:2]
    await conn.execute(
        "INSERT INTO silver.markets (id, venue, native_id, question, status)"
        " SELECT i, CASE WHEN i % 2 = 1 THEN $2 ELSE $3 END, 'm' || i, 'Question ' || (i + 1) / 2,"
        " 'open' FROM generate_series(1, 2 * $1) i",
        n,
        first,
        second,
    )
    await conn.execute("UPDATE silver.market_sync SET books_synced_at = now()")
    await conn.execute(
        "INSERT INTO silver.outcomes (market_id, idx, label)"
        " SELECT m, o, CASE o WHEN 0 THEN 'Yes' ELSE 'No' END"
        " FROM generate_series(1, 2 * $1) m, generate_series(0, 1) o",
        n,
    )
    # every tenth pair: YES at 0.40 on one venue and NO at 0.50 on the other
    await conn.execute(
        "INSERT INTO silver.order_book_snapshots (market_id, outcome_id, observed_at,"
        " fetched_at, bids, asks)"
        " SELECT o.market_id, o.id, now(), now(), '[]'::jsonb,"
        " CASE WHEN ((o.market_id + 1) / 2) % 10 = 0"
        '      THEN (CASE o.idx WHEN 0 THEN \'[["0.40","100"],["0.45","200"]]\''
        '                       ELSE \'[["0.50","150"],["0.55","100"]]\' END)::jsonb'
        '      ELSE \'[["0.55","100"],["0.60","200"]]\'::jsonb END'
        " FROM silver.outcomes o",
    )
    await conn.execute(
        "INSERT INTO gold.market_matches (market_a, market_b, relation, confidence, status,"
        " decided_by, decided_at)"
        " SELECT 2 * i - 1, 2 * i, 'same', 1, 'confirmed', 'bench', now()"
        " FROM generate_series(1, $1) i",
        n,
    )
    await conn.execute("ANALYZE")


async def _timed(conn: asyncpg.Connection, changed: list[int], rounds: int) -> float:
    config = ArbitrageConfig(freshness_seconds=3600)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        async with conn.transaction():
            await cycle(conn, config, changed, now=datetime.now(UTC))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def part_cycle(args: argparse.Namespace) -> None:
    n = args.pairs
    async with scratch_database() as url:
        conn = await connect(url)
        try:
            started = time.perf_counter()
            await fill_pairs(conn, n)
            fill = time.perf_counter() - started
            every = list(range(1, 2 * n + 1))
            full = await _timed(conn, every, 3)
            opened = await conn.fetchval(
                "SELECT count(*) FROM gold.arbitrage_opportunities WHERE closed_at IS NULL"
            )
            few = list(range(1, 2 * n + 1, max(1, (2 * n) // 10)))[:10]
            incremental = await _timed(conn, few, 9)
        finally:
            await conn.close()
    print(f"arbitrage cycle over {n:,} confirmed pairs ({2 * n:,} markets; filled in {fill:.1f} s)")
    print(
        f"  all {2 * n:,} markets changed:   {full * 1000:9.1f} ms  ({opened} open opportunities)"
    )
    print(f"  {len(few)} markets changed:         {incremental * 1000:9.1f} ms")
    print(f"  ratio full / incremental:  {full / incremental:9.1f}x")


PARTS: dict[str, Callable[[argparse.Namespace], Awaitable[None]]] = {
    "truth": part_truth,
    "cycle": part_cycle,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=[*PARTS, "all"], nargs="?", default="all")
    parser.add_argument("--pairs", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    configure_logging("WARNING", json=False)
    for name, part in PARTS.items():
        if args.part in (name, "all"):
            asyncio.run(part(args))


if __name__ == "__main__":
    main()
