"""The contract every venue adapter passes, over real HTTP against the venue simulator.

Parametrized by the venue registry: a new venue package gets these tests for
free, and each capability its descriptor declares in `has` (events, by-id
lookups, incremental listing, quotes, books, history, trades, streams,
search) is checked against the simulator's ground truth. Each test builds a
fresh adapter (fresh breaker) with fast backoff and steers the shared
simulator through its fault admin endpoint, clearing the faults afterwards.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from predhub.ingest.refs import ref_of
from predhub.models import DataError, Market, MarketStatus, Trade
from predhub.settings import Settings
from predhub.sim.config import FaultRule, SimConfig
from predhub.sim.plugins import plugin
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.base import Capability, StreamUpdate, Venue
from predhub.venues.descriptor import descriptor
from predhub.venues.errors import BreakerOpen, NotJsonError, RetriableError
from predhub.venues.http import VenueHttp
from predhub.venues.registry import UnknownVenue, build_venue, venue_names

VENUES = venue_names()


def having(capability: Capability) -> list[str]:
    """The venues whose descriptor declares `capability` (each gets the capability's test)."""
    return [name for name in VENUES if capability in descriptor(name).has]


@pytest.fixture(scope="module")
def world() -> Iterator[SimHandle]:
    """A world big enough that every venue's market listing takes several pages."""
    config = SimConfig.small(polymarket_markets=1100, polymarket_events=300, kalshi_markets=1100)
    with running_simulator(config) as handle:
        yield handle


@pytest.fixture
def sim(world: SimHandle) -> Iterator[SimHandle]:
    world.clear_faults()
    world.reset_stats()
    yield world
    world.clear_faults()


def fast(sim: SimHandle, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "http_timeout_seconds": 10.0,  # generous: a loaded CI machine serves big pages slowly
        "http_max_retries": 4,
        "http_backoff_base_seconds": 0.01,
        "http_backoff_max_seconds": 2.0,
        "breaker_failure_threshold": 20,
        "breaker_reset_seconds": 0.3,
    }
    values.update(overrides)
    return sim.settings(**values)


@pytest.fixture
async def make(sim: SimHandle) -> AsyncIterator[Any]:
    built: list[Venue] = []

    def build(name: str, **overrides: Any) -> Venue:
        venue = build_venue(name, fast(sim, **overrides))
        built.append(venue)
        return venue

    yield build
    for venue in built:
        await venue.close()


def http_of(venue: Venue) -> VenueHttp:
    http = getattr(venue, "http", None)
    assert isinstance(http, VenueHttp), "an adapter exposes its VenueHttp as `.http`"
    return http


async def first_page(venue: Venue) -> tuple[list[Market], list[DataError]]:
    async for page in venue.list_markets():
        return page.items, page.errors
    return [], []


async def all_pages(venue: Venue) -> tuple[list[Market], list[DataError], int]:
    items: list[Market] = []
    errors: list[DataError] = []
    pages = 0
    async for page in venue.list_markets():
        items += page.items
        errors += page.errors
        pages += 1
        assert page.raw, "every page carries its raw responses"
        assert all(r.venue == venue.name and r.status == 200 for r in page.raw)
    return items, errors, pages


def open_ids(sim: SimHandle, name: str) -> set[str]:
    return {
        t["market"] for t in sim.truth(venue=name, trades=False)["markets"] if t["status"] == "open"
    }


def test_every_adapter_is_registered() -> None:
    assert VENUES[:4] == ["polymarket", "kalshi", "limitless", "opinion"]
    for name in VENUES:
        cls = type(build_venue(name, Settings()))
        assert cls.name == name
        assert cls.has == descriptor(name).has
        assert Capability.LIST_MARKETS in cls.has
    with pytest.raises(UnknownVenue, match="dome"):
        build_venue("dome", Settings())  # shut down in April 2026: no adapter


@pytest.mark.parametrize("name", VENUES)
async def test_paginates_to_the_end(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    items, errors, pages = await all_pages(venue)
    assert errors == []
    ids = [m.native_id for m in items]
    assert len(ids) == len(set(ids)), "no market twice"
    assert set(ids) == open_ids(sim, name)
    assert pages >= 2
    assert all(m.venue == name and m.outcomes for m in items)


@pytest.mark.parametrize("name", VENUES)
async def test_429_without_retry_after_is_retried(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    sim.set_faults(FaultRule(venue=name, kind="rate_limit", count=2))
    items, errors = await first_page(venue)
    assert items and not errors
    assert sim.count(name, status=429) == 2


@pytest.mark.parametrize("name", VENUES)
async def test_429_with_retry_after_waits_as_told(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    sim.set_faults(FaultRule(venue=name, kind="rate_limit", count=1, retry_after=1))
    started = time.monotonic()
    items, _ = await first_page(venue)
    assert items
    assert time.monotonic() - started >= 1.0
    assert sim.count(name, status=429) == 1


@pytest.mark.parametrize("name", VENUES)
async def test_5xx_burst_is_ridden_out(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    sim.set_faults(FaultRule(venue=name, kind="error", status=503, count=3))
    items, errors = await first_page(venue)
    assert items and not errors
    assert sim.count(name, status=503) == 3


@pytest.mark.parametrize("name", VENUES)
async def test_timeouts_and_drops_are_retried(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name, http_timeout_seconds=2.0)
    sim.set_faults(
        FaultRule(venue=name, kind="timeout", seconds=6, count=1),
        FaultRule(venue=name, kind="drop", count=1),
    )
    started = time.monotonic()
    items, errors = await first_page(venue)
    assert items and not errors
    assert time.monotonic() - started < 6  # the client gave up on the held request
    assert sim.count(name, status=0) == 1  # the dropped connection
    assert sim.count(name, status=408) == 1  # the held request, counted when it began


@pytest.mark.parametrize("name", VENUES)
async def test_a_body_that_is_not_json(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name, http_max_retries=1)
    sim.set_faults(FaultRule(venue=name, kind="malformed", count=1))
    items, _ = await first_page(venue)  # a truncated body once: retried
    assert items
    sim.set_faults(FaultRule(venue=name, kind="malformed"))
    with pytest.raises(NotJsonError) as info:
        await first_page(venue)
    assert 0 < len(info.value.excerpt) <= 200


@pytest.mark.parametrize("name", VENUES)
async def test_breaker_opens_fails_fast_and_closes(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name, http_max_retries=0, breaker_failure_threshold=2, breaker_reset_seconds=0.3)
    sim.set_faults(FaultRule(venue=name, kind="error", status=502))
    for _ in range(2):
        with pytest.raises(RetriableError):
            await first_page(venue)
    seen = sim.count(name)
    with pytest.raises(BreakerOpen):
        await first_page(venue)
    assert sim.count(name) == seen, "an open breaker sends nothing"
    sim.clear_faults()
    await asyncio.sleep(0.35)
    items, _ = await first_page(venue)  # the half-open probe succeeds
    assert items
    assert http_of(venue).breaker.state == "closed"


@pytest.mark.parametrize("name", VENUES)
async def test_schema_drift_costs_items_not_pages(name: str, sim: SimHandle, make: Any) -> None:
    drift_field = plugin(name).required_field  # removed to simulate schema drift
    venue = make(name)
    clean, _, clean_pages = await all_pages(venue)
    sim.set_faults(FaultRule(venue=name, kind="missing_field", field=drift_field, count=1))
    items, errors, pages = await all_pages(venue)
    assert pages == clean_pages, "the drifted page did not end the run"
    assert errors, "drifted items are reported"
    for e in errors:
        assert e.venue == name and e.endpoint and e.reason and e.item_id
        assert e.raw is not None and e.item is not None
    assert items, "the pages after the drift parse"
    assert {m.native_id for m in items} < {m.native_id for m in clean}


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in its own process (it configures logging for itself)."""
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "predhub.cli", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_venues_check_prints_capabilities_and_reachability(world: SimHandle) -> None:
    result = run_cli(world.env, "venues", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in VENUES:
        assert name in result.stdout
    assert result.stdout.count("answers") == len(VENUES)
    assert "live_stream" in result.stdout
    assert "streams now" in result.stdout  # every venue's stream opens with the simulator's keys
    assert "polled" not in result.stdout
    assert "kalshi: signing the WebSocket handshake" in result.stdout  # the simulator's test key
    unsigned = {k: v for k, v in world.env.items() if not k.startswith("KALSHI_PRIVATE")}
    unsigned.pop("KALSHI_API_KEY", None)
    result = run_cli(unsigned, "venues", "check", "--venue", "kalshi")
    assert result.returncode == 0, result.stdout + result.stderr
    said = " ".join(result.stdout.split())
    assert "kalshi: requests are unsigned" in said
    assert "set KALSHI_API_KEY and KALSHI_PRIVATE_KEY_FILE to add the WebSocket" in said
    assert "polled" in said  # its stream does not open without them
    env = {
        **world.env,
        "KALSHI_URL": "http://127.0.0.1:9/nothing",
        "HTTP_TIMEOUT_SECONDS": "2",
        "HTTP_MAX_RETRIES": "0",
    }
    result = run_cli(env, "venues", "check", "--venue", "kalshi")
    assert result.returncode == 1
    assert "no answer" in result.stdout


# --- every capability in `has`, against the ground truth ------------------------------


def truth_by_id(sim: SimHandle, name: str) -> dict[str, dict[str, Any]]:
    return {t["market"]: t for t in sim.truth(venue=name, trades=False)["markets"]}


async def open_listed(venue: Venue, sim: SimHandle, n: int) -> list[Market]:
    """Up to `n` open markets of the venue's first page, as ingestion would hold them."""
    items, errors = await first_page(venue)
    assert not errors
    truth = truth_by_id(sim, venue.name)
    return [m for m in items if truth[m.native_id]["status"] == "open"][:n]


def near(value: object, want: float) -> bool:
    return value is not None and abs(float(value) - want) < 1e-9  # type: ignore[arg-type]


@pytest.mark.parametrize("name", having(Capability.LIST_EVENTS))
async def test_events_are_the_worlds_with_titles(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    events = []
    async for page in venue.list_events():
        assert page.errors == [] and page.raw
        events += page.items
    truth = list(truth_by_id(sim, name).values())
    open_per_event = Counter(t["event"] for t in truth if t["status"] == "open")
    grouped = {event for event, n in open_per_event.items() if n > 1}
    listed = {e.native_id for e in events}
    # every open group of markets is listed (single markets may or may not be events)
    assert grouped <= listed <= {t["event"] for t in truth}
    assert all(e.venue == name and e.title for e in events)


@pytest.mark.parametrize("name", having(Capability.MARKETS_BY_ID))
async def test_lookups_by_id(name: str, sim: SimHandle, make: Any) -> None:
    """`markets_by_id` for held markets, and `find_markets` for every id form the
    venue's descriptor claims (the forms discovery sends straight to the venue)."""
    venue = make(name)
    markets = await open_listed(venue, sim, 3)
    got = await venue.markets_by_id([ref_of(m) for m in markets])
    assert got.errors == []
    assert sorted(m.native_id for m in got.items) == sorted(m.native_id for m in markets)
    assert all(m.status is MarketStatus.OPEN for m in got.items)
    market = markets[0]
    keys = [market.native_id, market.condition_id, market.ticker]
    keys += [o.token_id for o in market.outcomes]
    patterns = descriptor(name).lookup_ids
    claimed = [k for k in keys if k and any(p.matches(k) for p in patterns)]
    assert len(claimed) >= len(patterns), "every declared id form is exercised"
    for key in [market.native_id, *claimed]:
        found = await venue.find_markets(key)
        assert market.native_id in {m.native_id for m in found.items}, key


@pytest.mark.parametrize("name", having(Capability.MARKETS_SINCE))
async def test_incremental_listing_returns_what_changed(
    name: str, sim: SimHandle, make: Any
) -> None:
    venue = make(name)
    truth = [t for t in truth_by_id(sim, name).values() if t["status"] == "open"]
    stamps = sorted(t["updated_at"] for t in truth)
    since = stamps[-5]  # the five most recently changed
    got: set[str] = set()
    async for page in venue.list_markets(since=datetime.fromtimestamp(since, UTC)):
        assert page.errors == []
        got |= {m.native_id for m in page.items}
    changed = {t["market"] for t in truth if t["updated_at"] >= since - 1}
    newest = max(truth, key=lambda t: t["updated_at"])["market"]
    assert newest in got and got <= changed


@pytest.mark.parametrize("name", VENUES)
async def test_quotes_and_books_match_truth(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    markets = await open_listed(venue, sim, 6)
    truth = truth_by_id(sim, name)
    refs = [ref_of(m) for m in markets]
    quotes = await venue.quotes(refs)
    assert quotes.errors == [] and len(quotes.items) == 2 * len(refs)
    for q in quotes.items:
        want = truth[q.market_native_id]["outcomes"][q.outcome_index]
        if q.best_bid is not None:  # a venue quoting its book's top quotes the world's
            assert near(q.best_bid, want["best_bid"]) and near(q.best_ask, want["best_ask"])
        prices = [v for v in (q.price, q.last, q.mid, q.best_bid) if v is not None]
        assert prices and all(0 <= v <= 1 for v in prices), q
    if Capability.ORDER_BOOKS not in descriptor(name).has:
        return
    books = await venue.order_books(refs)
    assert books.errors == [] and books.items
    if Capability.BATCH_ORDER_BOOKS in descriptor(name).has:
        assert len(books.items) == 2 * len(refs)
    for b in books.items:
        want = truth[b.market_native_id]["outcomes"][b.outcome_index]
        assert near(b.best_bid, want["best_bid"]) and near(b.best_ask, want["best_ask"])
        assert b.bids and b.asks


@pytest.mark.parametrize("name", having(Capability.PRICE_HISTORY))
async def test_price_history_is_in_range(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    truth = truth_by_id(sim, name)
    market = max(await open_listed(venue, sim, 50), key=lambda m: truth[m.native_id]["trade_count"])
    end = datetime.fromtimestamp(sim.truth(venue=name, trades=False)["now"], UTC)
    start = end - timedelta(hours=6)
    history = await venue.price_history(ref_of(market), start=start, end=end)
    assert history.errors == [] and history.items
    assert {p.outcome_index for p in history.items} == {0, 1}
    assert all(0 <= p.price <= 1 and start <= p.ts <= end for p in history.items)


@pytest.mark.parametrize("name", having(Capability.TRADES))
async def test_trades_are_the_worlds_and_resume(name: str) -> None:
    """Every trade of the busiest market, oldest first; after time moves, reading from
    the last watermark brings exactly the new ones (same-second neighbours aside)."""
    with running_simulator(SimConfig.small(seed=5)) as fresh:
        venue = build_venue(name, fast(fresh))
        try:
            listed, _, _ = await all_pages(venue)
            truth = {t["market"]: t for t in fresh.truth(venue=name)["markets"]}
            market = max(listed, key=lambda m: truth[m.native_id]["trade_count"])
            before = truth[market.native_id]
            assert before["trade_count"] > 5
            first: list[Trade] = []
            mark = None
            async for page in venue.trades_since(ref_of(market), None):
                assert page.errors == []
                first += page.items
                mark = page.watermark or mark
            assert sorted(t.tx_hash or t.trade_key for t in first) == sorted(
                t["trade_id"] for t in before["trades"]
            )
            assert first == sorted(first, key=lambda t: t.executed_at)
            fresh.advance(3 * 3600)
            after = fresh.truth(venue=name, market=market.native_id)
            newer = [
                t async for page in venue.trades_since(ref_of(market), mark) for t in page.items
            ]
            old = {t.trade_key for t in first}
            new = [t for t in newer if t.trade_key not in old]
            assert len(new) == after["trade_count"] - before["trade_count"] > 0
            assert len(newer) - len(new) <= 5
        finally:
            await venue.close()


# `ws_silent` must stop the venue's signs of life: Kalshi's are WebSocket pongs, which the
# simulator's server sends by itself (its dead peer: tests/venues/test_kalshi_stream.py)
@pytest.mark.parametrize("name", [n for n in having(Capability.LIVE_STREAM) if n != "kalshi"])
async def test_stream_books_then_silence_resyncs(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name, ws_silence_seconds=0.5, ws_ping_seconds=0.2)
    market = (await open_listed(venue, sim, 1))[0]
    truth = truth_by_id(sim, name)[market.native_id]
    updates: list[StreamUpdate] = []

    async def consume() -> None:
        phase = "first book"
        async for update in venue.stream([ref_of(market)]):
            updates.append(update)
            if phase == "first book" and update.books:
                sim.set_faults(FaultRule(venue=name, kind="ws_silent"))
                phase = "silent"
            elif phase == "silent" and update.resync:
                sim.clear_faults()
                phase = "resubscribed"
            elif phase == "resubscribed" and update.books:
                return

    await asyncio.wait_for(consume(), 10)
    first = next(u for u in updates if u.books)  # after any acknowledgements
    assert {b.outcome_index for b in first.books} == {0, 1}
    for b in first.books:
        assert near(b.best_bid, truth["outcomes"][b.outcome_index]["best_bid"])
    assert any(u.resync for u in updates)
    assert updates[-1].books  # resubscribed: a fresh book after the resync


@pytest.mark.parametrize("name", having(Capability.LIVE_STREAM))
async def test_stream_dropped_by_the_venue_resyncs_and_resubscribes(
    name: str, sim: SimHandle, make: Any
) -> None:
    """The venue closes the socket: the stream says `dropped` (re-read over REST), then
    connects and subscribes again by itself, and books flow again."""
    venue = make(name, ws_silence_seconds=5.0, http_backoff_base_seconds=0.05)
    market = (await open_listed(venue, sim, 1))[0]
    reasons: list[str] = []
    connected = sim.count(name, status=101)

    async def consume() -> None:
        dropped = False
        async for update in venue.stream([ref_of(market)]):
            if update.resync:
                reasons.append(update.reason)
                dropped = True
            elif update.books and not reasons and not dropped:
                sim.set_faults(FaultRule(venue=name, kind="ws_close", count=1))
            elif update.books and dropped:
                return
            else:
                sim.advance(60)  # news for the stream to carry

    await asyncio.wait_for(consume(), 15)
    assert reasons == ["dropped"]
    assert sim.count(name, status=101) - connected == 2  # connected, dropped, connected again


@pytest.mark.parametrize("name", having(Capability.LIVE_TRADES))
async def test_stream_carries_the_trades_the_venue_makes(
    name: str, sim: SimHandle, make: Any
) -> None:
    """Trades made while subscribed arrive over the stream, each once, as the truth has them."""
    venue = make(name, ws_silence_seconds=5.0)
    market = (await open_listed(venue, sim, 1))[0]
    before = {t["trade_id"] for t in sim.truth(venue=name, market=market.native_id)["trades"]}
    seen: list[Trade] = []

    async def consume() -> None:
        subscribed = False
        async for update in venue.stream([ref_of(market)]):
            if update.books and not subscribed:
                subscribed = True
                sim.advance(3 * 3600)
            seen.extend(update.trades)
            truth = sim.truth(venue=name, market=market.native_id)["trades"]
            if subscribed and len(seen) >= len(truth) - len(before) > 0:
                return

    await asyncio.wait_for(consume(), 20)
    after = {t["trade_id"] for t in sim.truth(venue=name, market=market.native_id)["trades"]}
    streamed = [t.tx_hash or t.trade_key for t in seen]
    assert sorted(streamed) == sorted(after - before)
    assert all(t.market_native_id == market.native_id for t in seen)


@pytest.mark.parametrize("name", having(Capability.SIGNED_REQUESTS))
async def test_signing_is_optional_and_what_it_signs_is_said(
    name: str, sim: SimHandle, make: Any
) -> None:
    """Without credentials the venue's public reads work unsigned; with the simulator's
    test credentials the adapter says what it signs, and those calls succeed."""
    spec = descriptor(name).settings
    unset = {spec.field(key): None for key in spec.together}
    plain = make(name, **unset)
    assert plain.signing() is None
    assert (await first_page(plain))[0], "public reads work without credentials"
    signed = make(name, **{spec.field(key): True for key in spec.flags})
    assert signed.signing()
    assert (await first_page(signed))[0]
    assert sim.count(name, status=401) == 0


@pytest.mark.parametrize("name", having(Capability.SEARCH))
async def test_search_finds_a_listed_question(name: str, sim: SimHandle, make: Any) -> None:
    venue = make(name)
    market = (await open_listed(venue, sim, 1))[0]
    word = max(market.question.split(), key=len)
    found = await venue.search(word)
    assert found.errors == [] and found.items, f"nothing found for {word!r}"


@pytest.mark.parametrize("name", having(Capability.CLOSED_MARKETS))
async def test_closed_listing_walks_to_the_end_with_only_closed_markets(
    name: str, sim: SimHandle, make: Any
) -> None:
    venue = make(name)
    seen: set[str] = set()
    watermark: str | None = None
    async for page in venue.closed_markets():
        assert page.raw and not page.errors
        seen |= {m.native_id for m in page.items}
        watermark = page.watermark
    assert watermark == "", "the last page says the walk is complete"
    truth = sim.truth(venue=name, trades=False)["markets"]
    ended = {t["market"] for t in truth if t["status"] in ("closed", "resolved", "voided")}
    assert seen and seen <= ended
    if name != "opinion":  # Opinion lists a categorical market only once all its children end
        final = {t["market"] for t in truth if t["status"] in ("resolved", "voided")}
        assert final <= seen


def test_the_contract_covers_every_capability() -> None:
    """A capability no contract test checks would let a new venue claim it untested."""
    checked = {
        Capability.LIST_MARKETS,  # test_paginates_to_the_end
        Capability.LIST_EVENTS,
        Capability.MARKETS_BY_ID,
        Capability.MARKETS_SINCE,
        Capability.BATCH_QUOTES,  # test_quotes_and_books_match_truth
        Capability.ORDER_BOOKS,
        Capability.BATCH_ORDER_BOOKS,
        Capability.PRICE_HISTORY,
        Capability.TRADES,
        Capability.LIVE_STREAM,
        Capability.LIVE_TRADES,
        Capability.SIGNED_REQUESTS,
        Capability.SEARCH,
        Capability.CLOSED_MARKETS,  # test_closed_listing_walks_to_the_end_with_only_closed_markets
    }
    assert checked == set(Capability)
