"""Arbitrage from the simulator over HTTP to gold.arbitrage_opportunities, against its truth.

The simulator plants cross-listed pairs and exclusive sets with known books;
the hub loads both venues (catalogue, quotes, books) over HTTP, the planted
pairs are confirmed as matches (the matcher is not what is tested here), and
the gold refresh must find every planted arbitrage at its size (within one
contract) and none of the traps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from predhub.gold.arbitrage import ArbitrageConfig
from predhub.gold.refresh import GoldConfig, refresh
from predhub.ingest.pipeline import Ingestor
from predhub.sim.config import SimConfig
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.registry import build_venue

VENUES = ("polymarket", "kalshi")


@pytest.fixture(scope="module")
def planted() -> Iterator[SimHandle]:
    with running_simulator(SimConfig.small(plant_arbitrage=True, seed=5)) as handle:
        yield handle


@dataclass
class Loaded:
    truth: dict[str, Any]
    ids: dict[tuple[str, str], int]
    matches: dict[int, int]  # planted pair index -> match id


def config(freshness: float = 60.0) -> GoldConfig:
    return GoldConfig(
        venues=VENUES,
        top_n={v: 5 for v in VENUES},
        floors={v: 0.0 for v in VENUES},
        arbitrage=ArbitrageConfig(freshness_seconds=freshness),
    )


async def _truth(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        found: dict[str, Any] = (await http.get("/admin/arbitrage")).json()
    return found


async def load(sim: SimHandle, pool: asyncpg.Pool) -> Loaded:
    settings = sim.settings()
    for name in VENUES:
        venue = build_venue(name, settings)
        try:
            ingestor = Ingestor(pool, venue, settings)
            await ingestor.static_load()
            ids = [
                int(r["id"])
                for r in await pool.fetch(
                    "SELECT id FROM silver.markets WHERE venue = $1 AND status = 'open'", name
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
    matches: dict[int, int] = {}
    for i, pair in enumerate(truth["pairs"]):
        a = ids[(pair["a"]["venue"], pair["a"]["market"])]
        b = ids[(pair["b"]["venue"], pair["b"]["market"])]
        lo, hi = sorted((a, b))
        matches[i] = await pool.fetchval(
            "INSERT INTO gold.market_matches (market_a, market_b, relation, confidence, status,"
            " decided_by, decided_at, notes) VALUES ($1, $2, $3, 1, 'confirmed', 'test', now(),"
            " $4) RETURNING id",
            lo,
            hi,
            pair["relation"],
            '["planted pair"]',
        )
    return Loaded(truth, ids, matches)


def _sides(sides: list[str], swapped: bool) -> str:
    return "-".join(reversed(sides) if swapped else sides)


async def _open(pool: asyncpg.Pool) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch("SELECT * FROM gold.arbitrage_opportunities WHERE closed_at IS NULL")
    return {r["key"]: r for r in rows}


async def test_every_planted_arbitrage_found_at_its_size_and_no_trap(
    planted: SimHandle, pool: asyncpg.Pool
) -> None:
    loaded = await load(planted, pool)
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        report = await refresh(conn, config(), now=now)
    assert report.arbitrage is not None and report.arbitrage.candidates > 0
    found = await _open(pool)

    expected: dict[str, dict[str, Any]] = {}
    for i, pair in enumerate(loaded.truth["pairs"]):
        a = loaded.ids[(pair["a"]["venue"], pair["a"]["market"])]
        b = loaded.ids[(pair["b"]["venue"], pair["b"]["market"])]
        for arb in pair["arbitrage"]:
            expected[f"match:{loaded.matches[i]}:{_sides(arb['sides'], a > b)}"] = arb
        if pair["trap"]:
            assert pair["arbitrage"] == []  # the truth agrees that it is a trap
    for s in loaded.truth["sets"]:
        event_id = await pool.fetchval(
            "SELECT event_id FROM silver.markets WHERE id = $1",
            loaded.ids[(s["venue"], s["markets"][0]["market"])],
        )
        for arb in s["arbitrage"]:
            expected[f"set:{event_id}:{arb['side']}"] = arb
    planted_pairs = sum(1 for p in loaded.truth["pairs"] if p["arbitrage"])
    planted_sets = sum(1 for s in loaded.truth["sets"] if s["arbitrage"])
    assert len(expected) == planted_pairs + planted_sets >= 3

    assert set(found) == set(expected)  # every planted one, and nothing else (no trap)
    for key, arb in expected.items():
        row = found[key]
        assert abs(float(row["size"]) - arb["size"]) <= 1, key
        assert float(row["profit"]) == pytest.approx(arb["profit"], abs=0.05), key
        assert float(row["edge"]) > 0
        legs = (
            row["legs"] if isinstance(row["legs"], list) else __import__("json").loads(row["legs"])
        )
        assert {leg["venue"] for leg in legs} <= set(VENUES)
        assert all(leg["size"] == row["size"] for leg in legs)
        assert all(leg["as_of"] for leg in legs)


async def test_opportunities_close_when_stale_and_follow_changed_books(
    planted: SimHandle, pool: asyncpg.Pool
) -> None:
    await load(planted, pool)
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await refresh(conn, config(), now=now)
    opened = await _open(pool)
    assert opened

    # nothing changed: the next cycle looks at no market and keeps every row as it is
    async with pool.acquire() as conn:
        quiet = await refresh(conn, config(), now=now + timedelta(seconds=5))
    assert quiet.arbitrage is not None and quiet.arbitrage.candidates == 0
    assert set(await _open(pool)) == set(opened)

    # one leg's book loses its cheap levels: only that opportunity closes, as no_edge
    key = next(k for k in opened if k.startswith("match:"))
    leg = (
        opened[key]["legs"]
        if isinstance(opened[key]["legs"], list)
        else __import__("json").loads(opened[key]["legs"])
    )[0]
    await pool.execute(
        "INSERT INTO silver.order_book_snapshots (market_id, outcome_id, observed_at, fetched_at,"
        " bids, asks) VALUES ($1, $2, $3, $3, '[]', '[[\"0.99\", \"1000\"]]')",
        leg["market_id"],
        leg["outcome_id"],
        now + timedelta(seconds=6),
    )
    async with pool.acquire() as conn:
        changed = await refresh(conn, config(), now=now + timedelta(seconds=7))
    assert changed.arbitrage is not None and changed.arbitrage.closed == 1
    closed = await pool.fetchrow(
        "SELECT closed_at, close_reason FROM gold.arbitrage_opportunities WHERE key = $1", key
    )
    assert closed["close_reason"] == "no_edge"
    assert set(await _open(pool)) == set(opened) - {key}

    # past the freshness window every remaining leg is stale: all close, history stays
    async with pool.acquire() as conn:
        stale = await refresh(conn, config(), now=now + timedelta(minutes=10))
    assert stale.arbitrage is not None and stale.arbitrage.closed == len(opened) - 1
    assert await _open(pool) == {}
    reasons = await pool.fetch("SELECT close_reason FROM gold.arbitrage_opportunities")
    assert len(reasons) == len(opened)
    assert sorted({r["close_reason"] for r in reasons}) == ["no_edge", "stale"]
