"""The Kalshi adapter over real HTTP against the simulator, checked against its ground truth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from predhub.models import MarketStatus
from predhub.settings import Settings
from predhub.sim.testing import SimHandle
from predhub.venues.base import HistoryWindow, MarketRef
from predhub.venues.errors import NotJsonError
from predhub.venues.kalshi import venue as kalshi_venue
from predhub.venues.kalshi.venue import KalshiVenue

from .conftest import Reply, ScriptedServer

STATUS = {
    "open": MarketStatus.OPEN,
    "closed": MarketStatus.CLOSED,
    "resolved": MarketStatus.RESOLVED,
    "voided": MarketStatus.VOIDED,
}


@pytest.fixture
async def kalshi(sim_session: SimHandle) -> AsyncIterator[KalshiVenue]:
    venue = KalshiVenue(sim_session.settings())
    yield venue
    await venue.close()


def truth(sim: SimHandle, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = sim.truth("kalshi", trades=False, **kw)
    return result


async def all_markets(venue: KalshiVenue, **kw: Any) -> list[Any]:
    markets = []
    async for page in venue.list_markets(**kw):
        assert page.errors == [] and len(page.raw) == 1
        assert all(m.raw is page.raw[0] for m in page.items)
        markets.extend(page.items)
    return markets


async def test_markets_by_id_reach_settled_and_archived_markets(
    kalshi: KalshiVenue, sim_session: SimHandle
) -> None:
    world = truth(sim_session)
    settled = [m for m in world["markets"] if m["status"] in ("resolved", "voided")]
    archived = [m for m in settled if world["now"] - (m["resolved_at"] or 0) > 30 * 86400]
    assert archived and len(archived) < len(settled), "the world should hold both kinds"
    picks = settled[:150] + [m for m in world["markets"] if m["status"] == "open"][:3]
    got = await kalshi.markets_by_id([MarketRef(m["market"], ticker=m["market"]) for m in picks])
    assert got.errors == []
    by_id = {m.native_id: m for m in got.items}
    assert set(by_id) == {m["market"] for m in picks}
    assert all(m in picks for m in archived)
    assert any(r.endpoint == "/historical/markets" for r in got.raw)
    for m in picks:
        market = by_id[m["market"]]
        assert market.status is STATUS[m["status"]], m["market"]
        if m["status"] == "resolved":
            assert market.resolution and market.resolution.winning_outcome == m["winner"]


async def test_trades_resume_from_watermark(
    sim: SimHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kalshi_venue, "TRADES_PAGE", 7)  # many venue pages and many chunks
    venue = KalshiVenue(sim.settings())
    try:
        world = sim.truth("kalshi")
        busy = max(world["markets"], key=lambda m: m["trade_count"])
        assert busy["trade_count"] > 20
        ref = MarketRef(busy["market"], ticker=busy["market"])
        pages = [page async for page in venue.trades_since(ref, None)]
        seen = [t.trade_key for page in pages for t in page.items]
        assert sorted(seen) == sorted(t["trade_id"] for t in busy["trades"])
        assert len(seen) == len(set(seen))
        times = [t.executed_at for page in pages for t in page.items]
        assert times == sorted(times)  # oldest first
        marks = [page.watermark for page in pages]
        assert all(m is not None for m in marks) and marks == sorted(marks)  # type: ignore[type-var]
        assert all(page.watermark == page.items[-1].executed_at.isoformat() for page in pages)
        newest = max(t["ts_ms"] for t in busy["trades"])
        assert datetime.fromisoformat(marks[-1] or "") == datetime.fromtimestamp(newest / 1000, UTC)

        # an interrupted sync resumes from any page's watermark without a gap
        middle = len(pages) // 2
        rest = [
            t.trade_key async for page in venue.trades_since(ref, marks[middle]) for t in page.items
        ]
        assert rest == [t.trade_key for page in pages[middle + 1 :] for t in page.items]

        sim.advance(3 * 3600)
        after = sim.truth("kalshi", market=busy["market"])
        new_ids = {t["trade_id"] for t in after["trades"]} - set(seen)
        fresh = [
            t.trade_key async for page in venue.trades_since(ref, marks[-1]) for t in page.items
        ]
        assert set(fresh) == new_ids and len(fresh) == len(new_ids)
    finally:
        await venue.close()


async def test_drifted_response_becomes_data_errors(sim: SimHandle) -> None:
    venue = KalshiVenue(sim.settings())
    try:
        sim.set_faults(
            {
                "venue": "kalshi",
                "endpoint": "/events",
                "kind": "missing_field",
                "field": "status",
                "count": 1,
            }
        )
        first = await anext(aiter(venue.list_markets()))
        assert first.items == [] and len(first.errors) > 0
        error = first.errors[0]
        assert (error.venue, error.endpoint, error.reason) == (
            "kalshi",
            "/events",
            "missing field 'status'",
        )
        assert error.item_id and error.raw is first.raw[0] and error.item is not None
    finally:
        await venue.close()


async def test_body_that_is_not_json_is_classified(sim: SimHandle) -> None:
    venue = KalshiVenue(sim.settings(http_max_retries=0))
    try:
        sim.set_faults({"venue": "kalshi", "endpoint": "/events", "kind": "malformed", "count": 1})
        with pytest.raises(NotJsonError) as info:
            await anext(aiter(venue.list_markets()))
        assert info.value.excerpt
    finally:
        await venue.close()


async def test_books_left_out_of_a_batch_are_asked_for_alone(scripted: ScriptedServer) -> None:
    book = {"yes_dollars": [["0.4000", "10.00"]], "no_dollars": [["0.5500", "3.50"]]}
    scripted.script(
        "/markets/orderbooks", Reply(200, {"orderbooks": [{"ticker": "A", "orderbook_fp": book}]})
    )
    scripted.script("/markets/B/orderbook", Reply(200, {"orderbook_fp": book}))
    scripted.script("/markets/C/orderbook", Reply(404, {"error": {"code": "not_found"}}))
    venue = KalshiVenue(Settings(kalshi_url=scripted.url))
    try:
        books = await venue.order_books([MarketRef("A"), MarketRef("B"), MarketRef("C")])
    finally:
        await venue.close()
    assert scripted.seen[0].query["tickers"] == ["A,B,C"]
    assert sorted({b.market_native_id for b in books.items}) == ["A", "B"]
    yes = next(b for b in books.items if b.market_native_id == "B" and b.outcome_index == 0)
    assert (yes.best_bid, yes.best_ask) == (Decimal("0.4000"), Decimal("0.4500"))
    assert {r.endpoint for r in books.raw} == {"/markets/orderbooks", "/markets/{ticker}/orderbook"}


async def test_listed_markets_carry_event_titles(sim: SimHandle) -> None:
    venue = KalshiVenue(sim.settings())
    try:
        pages = [page async for page in venue.list_markets()]
        assert all(r.endpoint == "/events" for page in pages for r in page.raw)
        events = {e.native_id: e async for page in venue.list_events() for e in page.items}
        for market in (m for page in pages for m in page.items):
            event = events[market.event_native_id or ""]
            assert (market.event_title, market.category) == (event.title, event.category)
            assert market.extra["series_ticker"] == event.extra["series_ticker"]
        # a delta read from /markets is titled from the events already seen
        since = datetime.fromtimestamp(sim.truth("kalshi", trades=False)["now"] - 7200, UTC)
        delta = [m async for page in venue.list_markets(since=since) for m in page.items]
        assert delta and all(m.raw and m.raw.endpoint == "/markets" for m in delta)
        assert all(m.event_title for m in delta if m.event_native_id in events)
    finally:
        await venue.close()


BATCH = "/markets/candlesticks"
ARCHIVE_AFTER = 30 * 86400  # the simulator's historical cutoff: settled a month ago


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


async def _alone(venue: KalshiVenue, w: HistoryWindow, interval: int) -> set[tuple[Any, ...]]:
    got = await venue.price_history(w.ref, start=w.start, end=w.end, interval_seconds=interval)
    assert got.errors == []
    return {(p.market_native_id, p.outcome_index, p.ts, p.price) for p in got.items}


async def test_batch_candlesticks_match_single_reads_and_leave_the_archive_to_them(
    kalshi: KalshiVenue, sim_session: SimHandle
) -> None:
    world = truth(sim_session)
    now = world["now"]
    ms = world["markets"]
    open_ = [m for m in ms if m["status"] == "open"][:45]
    archived = [m for m in ms if m["resolved_at"] and now - m["resolved_at"] > ARCHIVE_AFTER][:5]
    assert len(open_) == 45 and archived

    def window(m: dict[str, Any]) -> HistoryWindow:
        end = _at(min(now, m["close_at"]))
        return HistoryWindow(MarketRef(m["market"], ticker=m["market"]), end - timedelta(1), end)

    windows = [window(m) for m in [*open_, *archived]]
    before = sim_session.count("kalshi", BATCH)
    got = await kalshi.price_histories(windows, interval_seconds=3600)
    assert sim_session.count("kalshi", BATCH) - before == 1  # 45 live markets: one request
    assert got.fetched.errors == []
    live = {m["market"] for m in open_}
    assert set(got.answered) == live
    # settled before the cutoff: handed back unasked, for /historical one by one
    assert {w.ref.native_id for w in got.rest} == {m["market"] for m in archived}
    points = {(p.market_native_id, p.outcome_index, p.ts, p.price) for p in got.fetched.items}
    alone: set[tuple[Any, ...]] = set()
    for w in windows:
        if w.ref.native_id in live:
            alone |= await _alone(kalshi, w, 3600)
    assert points == alone and len(points) > 45


async def test_batch_requests_hold_no_more_candlesticks_than_an_answer_may(
    kalshi: KalshiVenue, sim_session: SimHandle
) -> None:
    """Hourly candles over a week: 60 markets of 170 periods fit 58 a request, not 100."""
    world = truth(sim_session)
    end = _at(world["now"])
    windows = [
        HistoryWindow(MarketRef(m["market"], ticker=m["market"]), end - timedelta(7), end)
        for m in world["markets"]
        if m["status"] == "open"
    ][:60]
    assert len(windows) == 60
    before = sim_session.count("kalshi", BATCH)
    got = await kalshi.price_histories(windows, interval_seconds=3600)
    assert sim_session.count("kalshi", BATCH) - before == 2
    assert sorted(got.answered) == sorted(w.ref.native_id for w in windows)
    assert all(p.raw is not None and p.raw.endpoint == BATCH for p in got.fetched.items)


async def test_an_answer_at_the_candlestick_cap_is_asked_again_in_halves(
    scripted: ScriptedServer,
) -> None:
    """An answer holding 10,000 candlesticks may have been cut: each half is asked alone."""
    end = datetime(2026, 3, 1, tzinfo=UTC)
    ts = int(end.timestamp())

    def candles(n: int) -> list[dict[str, Any]]:
        return [
            {"end_period_ts": ts - 3600 * k, "price": {"close_dollars": "0.4200"}} for k in range(n)
        ]

    def answer(*tickers: str, n: int) -> Reply:
        body = {"markets": [{"market_ticker": t, "candlesticks": candles(n)} for t in tickers]}
        return Reply(200, body)

    scripted.script("/historical/cutoff", Reply(200, {"market_settled_ts": "2020-01-01T00:00:00Z"}))
    scripted.script(BATCH, answer("A", "B", n=5000), answer("A", n=3), answer("B", n=2))
    venue = KalshiVenue(Settings(kalshi_url=scripted.url))
    try:
        windows = [HistoryWindow(MarketRef(t), end - timedelta(1), end) for t in ("A", "B")]
        got = await venue.price_histories(windows, interval_seconds=3600)
    finally:
        await venue.close()
    asked = [s.query["market_tickers"] for s in scripted.seen if s.path == BATCH]
    assert asked == [["A,B"], ["A"], ["B"]]
    assert sorted(got.answered) == ["A", "B"] and not got.rest
    per_market = {t: {p.ts for p in got.fetched.items if p.market_native_id == t} for t in "AB"}
    assert (len(per_market["A"]), len(per_market["B"])) == (3, 2)  # the cut answer is not kept
    assert len(got.fetched.raw) == 2
