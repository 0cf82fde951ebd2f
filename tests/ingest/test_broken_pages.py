"""A broken venue page served over real HTTP during a real load: kept in bronze,
its items quarantined, and the load goes on to finish the catalogue.

The simulator breaks the first Gamma listing page the ways the parser fuzzing
does (a dropped key, a wrong type, wrong nesting, unparseable embedded JSON,
a non-finite number, hostile unicode), then the real ingestion pipeline loads
into a real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import pytest

from predhub.ingest.pipeline import Ingestor
from predhub.sim.config import FaultRule
from predhub.sim.testing import SimHandle
from predhub.venues.base import Venue
from predhub.venues.registry import build_venue

LISTING = "/markets/keyset"
PAGE = 10
BROKEN = [
    pytest.param({"kind": "missing_field", "field": "question"}, id="dropped key"),
    pytest.param({"kind": "replaced_field", "field": "outcomes", "value": 7}, id="wrong type"),
    pytest.param(
        {"kind": "replaced_field", "field": "outcomePrices", "value": {"yes": ["0.5"]}},
        id="wrong nesting",
    ),
    pytest.param(
        {"kind": "replaced_field", "field": "clobTokenIds", "value": '["1", "2'},
        id="truncated embedded JSON",
    ),
    pytest.param(
        {"kind": "replaced_field", "field": "outcomePrices", "value": '["NaN", "1e400"]'},
        id="non-finite numbers",
    ),
    pytest.param(
        {"kind": "replaced_field", "field": "id", "value": {"\u202e": "💥"}},
        id="unicode object id",
    ),
]


@pytest.fixture
async def polymarket(sim: SimHandle) -> AsyncIterator[Venue]:
    venue = build_venue("polymarket", sim.settings())
    venue.markets_page_size = PAGE  # type: ignore[attr-defined]  # many pages, one of them broken
    try:
        yield venue
    finally:
        await venue.close()


@pytest.mark.parametrize("fault", BROKEN)
async def test_a_broken_page_lands_in_bronze_is_quarantined_and_the_load_completes(
    sim: SimHandle, polymarket: Venue, pool: asyncpg.Pool, fault: dict[str, Any]
) -> None:
    sim.set_faults(FaultRule(venue="polymarket", endpoint=LISTING, count=1, **fault))
    summary = await Ingestor(pool, polymarket, sim.settings()).static_load()

    rows = await pool.fetch(
        "SELECT q.item_id, q.reason, b.endpoint, b.payload "
        "FROM ops.quarantine q JOIN bronze.api_responses b ON b.id = q.bronze_id"
    )
    assert rows, "the broken page's items were not quarantined against their bronze row"
    assert await pool.fetchval("SELECT count(*) FROM ops.quarantine") == len(rows)
    assert {r["endpoint"] for r in rows} == {LISTING}
    page = rows[0]["payload"]
    page = orjson.loads(page) if isinstance(page, str) else page
    items = page["markets"] if isinstance(page, dict) else page
    if fault["kind"] == "missing_field":
        assert all(fault["field"] not in item for item in items)
    else:
        assert all(item[fault["field"]] == fault["value"] for item in items)
    assert summary.quarantined == len(rows) == len(items)
    assert all(r["reason"] for r in rows)

    # The load went on past the broken page: every market the rest of the
    # catalogue lists is in silver, and nothing failed outright.
    assert summary.failures == 0
    open_markets = {
        m["market"]
        for m in sim.truth(venue="polymarket", trades=False)["markets"]
        if m["status"] == "open"
    }
    held = {r["native_id"] for r in await pool.fetch("SELECT native_id FROM silver.markets")}
    assert len(open_markets) > 2 * PAGE
    assert held <= open_markets
    assert len(open_markets - held) <= len(items)
