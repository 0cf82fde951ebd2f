"""Kalshi, Limitless and Opinion through the real ingestion pipeline into PostgreSQL.

The adapters' own tests check what they parse; these check that what they
hand over loads: the whole open catalogue lands in silver with its quotes,
nothing is quarantined, a delta and a rerun are clean, and (for Kalshi)
trades equal the simulator's truth.
"""

from __future__ import annotations

import asyncpg
import pytest

from predhub.ingest.pipeline import Ingestor
from predhub.sim.testing import SimHandle
from predhub.venues.registry import build_venue

VENUES = ["kalshi", "limitless", "opinion"]


@pytest.mark.parametrize("name", VENUES)
async def test_static_and_delta_loads(name: str, sim: SimHandle, pool: asyncpg.Pool) -> None:
    venue = build_venue(name, sim.settings())
    try:
        ingestor = Ingestor(pool, venue, sim.settings())
        first = await ingestor.static_load()
        assert first.failures == 0 and first.quarantined == 0
        truth = {
            m["market"]: m
            for m in sim.truth(venue=name, trades=False)["markets"]
            if m["status"] == "open"
        }
        rows = await pool.fetch(
            "SELECT m.id, m.native_id, m.status, m.event_native_id, m.event_title, "
            "count(o.id) AS outcomes FROM silver.markets m "
            "JOIN silver.outcomes o ON o.market_id = m.id WHERE m.venue = $1 GROUP BY m.id",
            name,
        )
        assert {r["native_id"] for r in rows} == set(truth)
        assert all(r["outcomes"] == 2 and r["status"] == "open" for r in rows)
        for r in rows:
            assert r["event_native_id"] in (None, truth[r["native_id"]]["event"])
        if name == "kalshi":
            assert all(r["event_title"] for r in rows)
        quoted = await pool.fetchval(
            "SELECT count(DISTINCT o.market_id) FROM silver.quotes q "
            "JOIN silver.outcomes o ON o.id = q.outcome_id JOIN silver.markets m ON m.id = o.market_id "
            "WHERE m.venue = $1",
            name,
        )
        assert quoted == len(rows)
        sim.advance(1800)
        delta = await ingestor.delta_load()
        assert delta.failures == 0 and delta.quarantined == 0
        if name == "kalshi":
            ids = [r["id"] for r in rows]
            trades = await ingestor.sync_trades(ids)
            assert trades.failures == 0 and trades.quarantined == 0
            stored = await pool.fetchval(
                "SELECT count(*) FROM silver.trades t JOIN silver.markets m ON m.id = t.market_id "
                "WHERE m.venue = $1",
                name,
            )
            world = sim.truth(venue=name)["markets"]
            assert stored == sum(len(m["trades"]) for m in world if m["market"] in truth)
            again = await ingestor.sync_trades(ids)
            assert again.inserted == 0 and again.failures == 0
    finally:
        await venue.close()
