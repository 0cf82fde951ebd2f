"""The Opinion adapter over real HTTP against the simulator, checked against its ground truth."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from predhub.models import Event, Market
from predhub.settings import Settings
from predhub.sim.testing import SimHandle
from predhub.venues.base import MarketRef, OutcomeRef
from predhub.venues.errors import FatalError
from predhub.venues.opinion.venue import OpinionVenue

from .conftest import Reply, ScriptedServer


@pytest.fixture
async def opinion(sim_session: SimHandle) -> AsyncIterator[OpinionVenue]:
    venue = OpinionVenue(sim_session.settings())
    yield venue
    await venue.close()


def ref(m: Market, with_tokens: bool = True) -> MarketRef:
    outcomes = tuple(OutcomeRef(o.index, o.token_id) for o in m.outcomes) if with_tokens else ()
    return MarketRef(m.native_id, outcomes, event_native_id=m.event_native_id)


async def listing(venue: OpinionVenue) -> list[Market]:
    markets: list[Market] = []
    async for page in venue.list_markets():
        assert page.errors == []
        markets.extend(page.items)
    return markets


def truth(sim: SimHandle) -> tuple[float, dict[str, Any]]:
    world = sim.truth("opinion", trades=False)
    return world["now"], {m["market"]: m for m in world["markets"]}


async def test_listing_flattens_categorical_markets(
    opinion: OpinionVenue, sim_session: SimHandle
) -> None:
    markets = await listing(opinion)
    _, world = truth(sim_session)
    expected = {k for k, m in world.items() if m["status"] == "open"}
    assert {m.native_id for m in markets} == expected
    children = [m for m in markets if m.event_native_id is not None]
    assert children and all(m.event_title for m in children)
    for m in markets:
        assert [o.token_id for o in m.outcomes] == [
            o["token_id"] for o in world[m.native_id]["outcomes"]
        ]
    events: list[Event] = []
    async for page in opinion.list_events():
        events.extend(page.items)
    assert {e.native_id for e in events} == {m.event_native_id for m in children}


async def test_markets_by_id_keep_their_event(opinion: OpinionVenue) -> None:
    markets = await listing(opinion)
    child = next(m for m in markets if m.event_native_id)
    single = next(m for m in markets if not m.event_native_id)
    got = await opinion.markets_by_id([ref(child), ref(single), MarketRef("999999999")])
    by_id = {m.native_id: m for m in got.items}
    assert set(by_id) == {child.native_id, single.native_id}
    assert by_id[child.native_id].event_native_id == child.event_native_id
    # a child asked for without its parent still comes back, linked to the parent we knew
    again = await opinion.markets_by_id([MarketRef(child.native_id)])
    assert [m.native_id for m in again.items] == [child.native_id]


async def test_api_key_is_sent_and_never_kept(
    opinion: OpinionVenue, sim_session: SimHandle
) -> None:
    page = await anext(aiter(opinion.list_markets()))
    raw = page.raw[0]
    assert "sim-key" not in repr(raw.params) and "apikey" not in raw.params
    keyless = OpinionVenue(sim_session.settings(opinion_api_key=None))
    try:
        with pytest.raises(FatalError):
            await anext(aiter(keyless.list_markets()))
    finally:
        await keyless.close()


async def test_refused_envelope_is_a_classified_error(scripted: ScriptedServer) -> None:
    """A 200 whose envelope code is not 0 is the venue refusing: FatalError, not data."""
    scripted.script("/market", Reply(200, {"code": 10403, "msg": "invalid apikey", "result": None}))
    venue = OpinionVenue(Settings(opinion_url=scripted.url, opinion_api_key="k-123"))
    try:
        with pytest.raises(FatalError, match="code 10403: invalid apikey"):
            await anext(aiter(venue.list_markets()))
        assert scripted.seen[0].headers["apikey"] == "k-123"
    finally:
        await venue.close()


async def test_categorical_listed_without_children_is_expanded(scripted: ScriptedServer) -> None:
    fixtures = Path(__file__).parent.parent / "fixtures" / "opinion"
    listing = json.loads((fixtures / "market_list.json").read_text())
    detail = json.loads((fixtures / "market_detail_categorical.json").read_text())
    listing["result"]["list"][1]["childMarkets"] = []  # the list names the parent only
    scripted.script("/market", Reply(200, listing))
    scripted.script("/market/categorical/2001", Reply(200, detail))
    venue = OpinionVenue(Settings(opinion_url=scripted.url, opinion_api_key="k"))
    try:
        pages = [page async for page in venue.list_markets()]
        events = [e async for page in venue.list_events() for e in page.items]
    finally:
        await venue.close()
    (page,) = pages
    assert [m.native_id for m in page.items] == ["1274", "2002", "2003"]  # 1101 is resolved
    assert {r.endpoint for r in page.raw} == {"/market", "/market/categorical/{marketId}"}
    assert [(e.native_id, e.title) for e in events] == [
        ("2001", "Who will win the 2026 Ballon d'Or?")
    ]
    assert scripted.seen[0].query["marketType"] == ["2"] and scripted.seen[0].query["limit"] == [
        "20"
    ]
