"""The Limitless adapter over real HTTP against the simulator, checked against its ground truth."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from predhub.models import Market
from predhub.settings import Settings
from predhub.sim.testing import SimHandle
from predhub.venues.base import MarketRef, OutcomeRef
from predhub.venues.limitless.venue import LimitlessVenue

from .conftest import Reply, ScriptedServer


@pytest.fixture
async def limitless(sim_session: SimHandle) -> AsyncIterator[LimitlessVenue]:
    venue = LimitlessVenue(sim_session.settings())
    yield venue
    await venue.close()


def ref(m: Market) -> MarketRef:
    outcomes = tuple(OutcomeRef(o.index, o.token_id) for o in m.outcomes)
    return MarketRef(m.native_id, outcomes, slug=m.slug)


async def listing(venue: LimitlessVenue) -> list[Market]:
    markets: list[Market] = []
    async for page in venue.list_markets():
        assert page.errors == []
        markets.extend(page.items)
    return markets


def truth_by_id(sim: SimHandle) -> tuple[float, dict[str, Any]]:
    world = sim.truth("limitless", trades=False)
    return world["now"], {m["market"]: m for m in world["markets"]}


async def test_listing_is_every_open_market(
    limitless: LimitlessVenue, sim_session: SimHandle
) -> None:
    markets = await listing(limitless)
    _, truth = truth_by_id(sim_session)
    assert {m.native_id for m in markets} == {k for k, m in truth.items() if m["status"] == "open"}
    assert len(markets) == len({m.native_id for m in markets})
    for m in markets:
        want = truth[m.native_id]
        assert [o.token_id for o in m.outcomes] == [o["token_id"] for o in want["outcomes"]]
        yes = m.outcomes[0].price
        assert yes is not None and abs(yes - Decimal(str(want["outcomes"][0]["price"]))) < Decimal(
            "0.001"
        )  # AMM percent and CLOB fractions both land in [0, 1]
        assert m.volume_total is not None and m.volume_total < 10**9


async def test_books_and_quotes(limitless: LimitlessVenue, sim_session: SimHandle) -> None:
    markets = await listing(limitless)
    clob = [m for m in markets if m.extra["trade_type"] == "clob"][:5]
    amm = [m for m in markets if m.extra["trade_type"] == "amm"][:2]
    assert clob and amm
    books = await limitless.order_books([ref(m) for m in clob + amm])
    assert books.errors == []
    assert {b.market_native_id for b in books.items} == {m.native_id for m in clob}  # AMM: none
    _, truth = truth_by_id(sim_session)
    for book in books.items:
        want = truth[book.market_native_id]["outcomes"][book.outcome_index]
        assert book.best_bid == Decimal(str(want["best_bid"]))
        assert book.best_ask == Decimal(str(want["best_ask"]))
        assert all(lv.size < 10**6 for lv in book.bids + book.asks)  # raw units scaled
    quotes = await limitless.quotes([ref(m) for m in clob[:2] + amm[:1]])
    assert len(quotes.items) == 6
    by_key = {(q.market_native_id, q.outcome_index): q for q in quotes.items}
    assert by_key[(clob[0].native_id, 0)].best_bid is not None
    assert by_key[(amm[0].native_id, 0)].price == amm[0].outcomes[0].price


async def test_groups_and_amm_books_over_http(scripted: ScriptedServer) -> None:
    """Recorded and constructed payloads served over HTTP: groups, AMM books, a bad page."""
    fixtures = Path(__file__).parent.parent / "fixtures" / "limitless"
    group = json.loads((fixtures / "constructed_group_market.json").read_text())
    single = json.loads((fixtures / "ccxt_comment_market_clob_single.json").read_text())
    scripted.script(
        "/markets/active", Reply(200, {"data": [group, single], "totalMarketsCount": 2})
    )
    member = group["markets"][1]
    scripted.script(f"/markets/{member['slug']}", Reply(200, member))
    scripted.script(f"/markets/{single['slug']}/orderbook", Reply(400, {"message": "AMM market"}))
    venue = LimitlessVenue(Settings(limitless_url=scripted.url))
    try:
        pages = [page async for page in venue.list_markets()]
        assert [m.native_id for m in pages[0].items] == [
            *(m["slug"] for m in group["markets"]),
            single["slug"],
        ]
        events = [e async for page in venue.list_events() for e in page.items]
        assert [e.native_id for e in events] == [group["slug"]]
        got = await venue.markets_by_id([MarketRef(member["slug"], event_native_id=group["slug"])])
        assert [(m.native_id, m.event_native_id) for m in got.items] == [
            (member["slug"], group["slug"])
        ]
        books = await venue.order_books([MarketRef(single["slug"])])
        assert books.items == [] and books.errors == []
        scripted.script("/markets/active", Reply(200, {"markets": []}))
        (page,) = [page async for page in venue.list_markets()]
        assert page.items == [] and len(page.errors) == 1
        assert page.errors[0].reason.startswith("page: field 'data'")
        assert page.errors[0].raw is page.raw[0]
    finally:
        await venue.close()
