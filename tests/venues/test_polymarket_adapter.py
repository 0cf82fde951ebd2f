"""The Polymarket adapter over real HTTP against the venue simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from predhub.models import Market, MarketStatus, Trade
from predhub.settings import Settings
from predhub.sim.config import FaultRule
from predhub.sim.testing import SimHandle
from predhub.venues.base import MarketRef, OutcomeRef, StreamUpdate
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


async def test_lists_every_active_market_to_the_end(
    venue: PolymarketVenue, truth: list[dict[str, Any]]
) -> None:
    markets, errors, pages = await collect(venue.list_markets())
    assert errors == []
    expected = {t["market"] for t in truth if t["status"] == "open"}
    assert {m.native_id for m in markets} == expected
    assert len(markets) == len(expected)  # no duplicates across pages
    assert all(m.status is MarketStatus.OPEN for m in markets)
    assert pages >= 1


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


async def test_markets_by_id_and_search(
    venue: PolymarketVenue, truth: list[dict[str, Any]]
) -> None:
    wanted = [ref_of(t) for t in truth[:3]]
    got = await venue.markets_by_id(wanted)
    assert sorted(m.native_id for m in got.items) == sorted(r.native_id for r in wanted)
    assert got.raw and got.raw[0].endpoint == "/markets/keyset"
    word = truth[0]["question"].split()[2]
    found = await venue.search(word)
    assert found.items, f"nothing found for {word!r}"
    assert found.errors == []


async def test_quotes_and_books_match_the_world(
    venue: PolymarketVenue, truth: list[dict[str, Any]]
) -> None:
    open_markets = [t for t in truth if t["status"] == "open"][:5]
    refs = [ref_of(t) for t in open_markets]
    quotes = await venue.quotes([*refs, MarketRef(native_id="no-tokens")])
    assert [e.item_id for e in quotes.errors] == ["no-tokens"]
    assert len(quotes.items) == 2 * len(refs)
    books = await venue.order_books(refs)
    assert books.errors == []
    by_key = {(q.market_native_id, q.outcome_index): q for q in quotes.items}
    book_by_key = {(b.market_native_id, b.outcome_index): b for b in books.items}
    for t in open_markets:
        for o in t["outcomes"]:
            q = by_key[(t["market"], o["index"])]
            b = book_by_key[(t["market"], o["index"])]
            assert q.best_bid == b.best_bid == Decimal(str(o["best_bid"]))
            assert q.best_ask == b.best_ask == Decimal(str(o["best_ask"]))
            assert q.mid is not None and q.best_bid <= q.mid <= q.best_ask
    assert {r.endpoint for r in quotes.raw} == {"/prices", "/midpoints"}


async def test_price_history(venue: PolymarketVenue, truth: list[dict[str, Any]]) -> None:
    t = max(truth, key=lambda x: x["trade_count"])
    end = datetime.fromtimestamp(t["updated_at"], UTC) + timedelta(minutes=1)
    hist = await venue.price_history(ref_of(t), start=end - timedelta(hours=4), end=end)
    assert hist.errors == []
    assert {p.outcome_index for p in hist.items} == {0, 1}
    assert all(Decimal(0) <= p.price <= 1 for p in hist.items)


async def test_trades_since_resumes_from_its_watermark(sim: SimHandle) -> None:
    venue = PolymarketVenue(sim.settings())
    try:
        truth = sim.truth(venue="polymarket")["markets"]
        t = max((x for x in truth if x["status"] == "open"), key=lambda x: x["trade_count"])
        ref = ref_of(t)
        first: list[Trade] = []
        mark = None
        async for page in venue.trades_since(ref, None):
            assert page.errors == []
            first += page.items
            mark = page.watermark or mark
        assert len(first) == t["trade_count"]
        assert {tr.tx_hash for tr in first} == {x["trade_id"] for x in t["trades"]}
        assert first == sorted(first, key=lambda x: x.executed_at)  # oldest first
        sim.advance(3 * 3600)
        after = sim.truth(venue="polymarket", market=t["market"])
        newer: list[Trade] = []
        async for page in venue.trades_since(ref, mark):
            newer += page.items
        old_keys = {x.trade_key for x in first}
        fresh = [x for x in newer if x.trade_key not in old_keys]
        assert len(fresh) == after["trade_count"] - t["trade_count"]
        assert len(newer) - len(fresh) <= 5  # only same-second neighbours are read again
    finally:
        await venue.close()


async def test_stream_book_then_silence_resyncs(sim: SimHandle) -> None:
    settings = sim.settings(ws_silence_seconds=0.5, ws_ping_seconds=0.2)
    venue = PolymarketVenue(settings)
    truth = sim.truth(venue="polymarket", trades=False)["markets"]
    t = next(x for x in truth if x["status"] == "open")
    updates: list[StreamUpdate] = []

    async def consume() -> None:
        phase = "first book"
        async for update in venue.stream([ref_of(t)]):
            updates.append(update)
            if phase == "first book" and update.books:
                sim.set_faults(FaultRule(venue="polymarket", kind="ws_silent"))
                phase = "silent"
            elif phase == "silent" and update.resync:
                sim.clear_faults()
                phase = "resubscribed"
            elif phase == "resubscribed" and update.books:
                return

    try:
        await asyncio.wait_for(consume(), 10)
    finally:
        sim.clear_faults()
        await venue.close()
    first = updates[0]
    assert {b.outcome_index for b in first.books} == {0, 1}
    assert first.books[0].best_bid == Decimal(
        str(t["outcomes"][first.books[0].outcome_index]["best_bid"])
    )
    assert first.raw is not None and isinstance(first.raw.body, list)  # the wrapped first book
    assert any(u.resync for u in updates)
    assert updates[-1].books  # resubscribed: a fresh book after the resync


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
