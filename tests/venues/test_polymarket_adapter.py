"""The Polymarket adapter over real HTTP against the venue simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from predhub.models import Market
from predhub.settings import Settings
from predhub.sim.config import FaultRule
from predhub.sim.testing import SimHandle
from predhub.venues.base import MarketRef, OutcomeRef
from predhub.venues.errors import CursorLoop
from predhub.venues.polymarket.adapter import PolymarketVenue

from .conftest import Reply, ScriptedServer
from .test_polymarket_parse import load as load_fixture


def ref_of(truth: dict[str, Any]) -> MarketRef:
    return MarketRef(
        native_id=truth["market"],
        condition_id=truth["condition_id"],
        outcomes=tuple(OutcomeRef(o["index"], o["token_id"]) for o in truth["outcomes"]),
    )


@pytest.fixture
async def venue(sim_session: SimHandle) -> AsyncIterator[PolymarketVenue]:
    v = PolymarketVenue(sim_session.settings())
    yield v
    await v.close()


@pytest.fixture(scope="session")
def truth(sim_session: SimHandle) -> list[dict[str, Any]]:
    markets: list[dict[str, Any]] = sim_session.truth(venue="polymarket", trades=False)["markets"]
    return markets


async def collect(pages: AsyncIterator[Any]) -> tuple[list[Any], list[Any], int]:
    items: list[Any] = []
    errors: list[Any] = []
    n = 0
    async for page in pages:
        items += page.items
        errors += page.errors
        n += 1
    return items, errors, n


async def test_all_markets_with_status_and_resolution(
    venue: PolymarketVenue, truth: list[dict[str, Any]]
) -> None:
    markets, errors, _ = await collect(venue.list_markets(active_only=False))
    assert errors == []
    by_id: dict[str, Market] = {m.native_id: m for m in markets}
    assert set(by_id) == {t["market"] for t in truth}
    for t in truth:
        m = by_id[t["market"]]
        assert m.status.value == t["status"]
        assert m.condition_id == t["condition_id"]
        assert [o.token_id for o in m.outcomes] == [o["token_id"] for o in t["outcomes"]]
        if t["status"] == "resolved":
            assert m.resolution is not None
            assert m.resolution.winning_outcome == t["winner"]


async def test_delta_stops_at_the_watermark(
    venue: PolymarketVenue, sim_session: SimHandle, truth: list[dict[str, Any]]
) -> None:
    stamps = sorted(t["updated_at"] for t in truth if t["status"] == "open")
    since = datetime.fromtimestamp(stamps[-5], UTC)  # the 5 most recently changed
    sim_session.reset_stats()
    markets, _, pages = await collect(venue.list_markets(since=since))
    assert {m.native_id for m in markets} == {
        t["market"] for t in truth if t["status"] == "open" and t["updated_at"] >= stamps[-5]
    }
    assert pages == 1
    assert sim_session.count("polymarket", "/markets/keyset") == 1


async def test_legacy_offset_lists_when_keyset_is_gone(sim: SimHandle) -> None:
    venue = PolymarketVenue(sim.settings())
    sim.set_faults(
        FaultRule(venue="polymarket", endpoint="/markets/keyset", kind="error", status=404)
    )
    try:
        markets, errors, _ = await collect(venue.list_markets())
        by_slug = await venue.market_by_slug(markets[0].slug or "")
        missing = await venue.market_by_slug("no-such-market")
    finally:
        sim.clear_faults()
        await venue.close()
    truth = sim.truth(venue="polymarket", trades=False)["markets"]
    assert errors == []
    assert {m.native_id for m in markets} == {t["market"] for t in truth if t["status"] == "open"}
    assert sim.count("polymarket", "/markets", 200) >= 1
    assert [m.native_id for m in by_slug.items] == [markets[0].native_id]
    assert missing.items == [] and missing.errors == []


async def test_a_cursor_loop_is_a_classified_error(scripted: ScriptedServer) -> None:
    page = load_fixture("argos/gamma_markets_list.raw.json")
    scripted.script(
        "/markets/keyset",
        Reply(json={"markets": page[:1], "next_cursor": "A"}),
        Reply(json={"markets": page[1:2], "next_cursor": "B"}),
        Reply(json={"markets": page[2:], "next_cursor": "A"}),
    )
    venue = PolymarketVenue(Settings(polymarket_gamma_url=scripted.url))
    seen: list[str] = []
    try:
        with pytest.raises(CursorLoop):
            async for fetched in venue.list_markets():
                seen += [m.native_id for m in fetched.items]
    finally:
        await venue.close()
    assert seen == [m["id"] for m in page]
    assert [s.query.get("after_cursor") for s in scripted.seen] == [None, ["A"], ["B"]]


async def test_a_page_without_its_list_is_reported_and_the_run_goes_on(sim: SimHandle) -> None:
    venue = PolymarketVenue(sim.settings())
    venue.markets_page_size = 50
    sim.set_faults(
        FaultRule(
            venue="polymarket",
            endpoint="/markets/keyset",
            kind="renamed_field",
            field="markets",
            rename_to="data",
            count=1,
        )
    )
    try:
        pages = [page async for page in venue.list_markets(active_only=False)]
    finally:
        sim.clear_faults()
        await venue.close()
    first, *rest = pages
    assert first.items == []
    [error] = first.errors
    assert error.venue == "polymarket" and error.endpoint == "/markets/keyset"
    assert "markets" in error.reason
    assert len(rest) >= 3 and all(p.items for p in rest)
    truth = sim.truth(venue="polymarket", trades=False)["markets"]
    assert sum(len(p.items) for p in rest) == len(truth) - 50
