"""The matcher over markets ingested from the simulator over HTTP, scored by its planted truth.

The simulator plants propositions listed on several venues in each venue's own
words (`same`, `inverse`), stricter strikes (`subset`) and look-alike traps
(another strike, day, band or resolution source; both sides of a drawable
game), and lists them at its admin endpoint. Every venue's catalogue is
ingested through its adapter, the matcher runs over silver, and what it
proposes at the review threshold is judged against that list.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pytest

from predhub.ingest.pipeline import Ingestor
from predhub.match.run import MatchConfig, run
from predhub.match.truth import Known, score_truth
from predhub.settings import Settings
from predhub.sim.config import SimConfig
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.descriptor import venue_names
from predhub.venues.registry import build_venue

REVIEW = Settings().match_review_confidence


@pytest.fixture
def planted_sim() -> Iterator[SimHandle]:
    """A small world with enough cross-listed groups to plant every kind of trap."""
    with running_simulator(SimConfig.small(seed=5, cross_listed=30)) as handle:
        yield handle


async def _ingest(pool: asyncpg.Pool, sim: SimHandle) -> dict[tuple[str, str], int]:
    for name in venue_names():
        venue = build_venue(name, sim.settings())
        try:
            await Ingestor(pool, venue, sim.settings()).static_load()
        finally:
            await venue.close()
    rows = await pool.fetch("SELECT id, venue, native_id FROM silver.markets")
    return {(r["venue"], r["native_id"]): int(r["id"]) for r in rows}


async def test_matcher_finds_the_planted_pairs_and_no_trap(
    planted_sim: SimHandle, pool: asyncpg.Pool
) -> None:
    ids = await _ingest(pool, planted_sim)
    pairs = planted_sim.matches()["pairs"]
    truth = [
        (
            ids[(p["a"]["venue"], p["a"]["market"])],
            ids[(p["b"]["venue"], p["b"]["market"])],
            Known(p["relation"], p["planted"], p["trap"]),
        )
        for p in pairs
        if p["a"]["status"] == "open" and p["b"]["status"] == "open"
    ]
    kinds = {k.trap for _, _, k in truth if k.trap}
    assert kinds == {"threshold", "date", "band", "source", "game"}, kinds
    relations = {k.relation for _, _, k in truth if k.planted}
    assert {"same", "inverse", "subset", "different"} <= relations | {"superset"}

    async with pool.acquire() as conn:
        await run(conn, MatchConfig(venues=tuple(venue_names())), now=datetime.now(UTC), full=True)
        rows = await conn.fetch(
            "SELECT market_a, market_b, relation FROM gold.market_matches WHERE confidence >= $1",
            REVIEW,
        )
    found = {(int(r["market_a"]), int(r["market_b"])): str(r["relation"]) for r in rows}
    s = score_truth(found, truth)
    for label in ("same", "inverse"):
        assert s.planted.get(label, 0) >= 3, (label, s.planted)
        assert s.precision(label) >= 0.97, (label, s.mistakes[:5])
        assert s.recall(label) >= 0.90, (label, s.missed[:5])
    assert s.traps >= 5
    assert s.traps_proposed == []
