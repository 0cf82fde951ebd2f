"""Limitless parsers on recorded and spec-example responses: units, groups, drift."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from predhub.models import MarketStatus
from predhub.venues.limitless import parse

FIXTURES = Path(__file__).parent.parent / "fixtures" / "limitless"
NOW = datetime(2026, 2, 24, 17, 5, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_every_fixture_parses() -> None:
    for path in sorted(FIXTURES.glob("*.json")):
        body = json.loads(path.read_text())
        if path.name.endswith("markets_active.json"):
            _, markets, errors, _ = parse.parse_active_page(body)
        elif "orderbook" in path.name:
            books = parse.parse_orderbook("s", body, NOW)
            markets, errors = books, []
        elif "historical_price" in path.name:
            markets, errors = parse.parse_historical_prices("s", body)  # type: ignore[assignment]
        else:
            _, markets, errors = parse.parse_market_body(body)
        assert markets, path.name
        assert errors == [], path.name


def test_clob_market_values() -> None:
    events, markets, errors = parse.parse_market_body(load("ccxt_comment_market_clob_single.json"))
    assert events == [] and errors == []
    (m,) = markets
    assert m.venue == "limitless"
    assert m.native_id == m.slug == "trump-out-as-president-before-2027-1768933068297"
    assert m.extra["id"] == "36814" and m.extra["trade_type"] == "clob"
    assert m.question == "💎 Trump out as President before 2027?"
    assert m.status is MarketStatus.OPEN and m.resolution is None
    yes, no = m.outcomes
    assert (yes.index, yes.label, yes.price) == (0, "Yes", Decimal("0.164"))  # CLOB: already [0, 1]
    assert (no.index, no.label, no.price) == (1, "No", Decimal("0.836"))
    assert yes.token_id and yes.token_id.startswith("561543087427539826867")
    assert no.token_id and no.token_id.startswith("325722488128012088745")
    assert m.volume_total == Decimal("290.091252")  # raw 6-decimal units
    assert m.end_at == datetime(2027, 1, 1, 4, 59, tzinfo=UTC)  # ms timestamp, as a string
    assert m.condition_id == "0x11287d02d8067ff3d3d8bd21b212ebcfdc20b638f7f6440e4115f649e6b57015"
    assert m.category == "Politics"
    assert m.extra["min_size"] == "100.000000"


def test_amm_market_prices_are_percent() -> None:
    events, markets, errors, total = parse.parse_active_page(
        load("spec_example_markets_active.json")
    )
    assert (events, errors, total) == ([], [], 150)
    (m,) = markets
    assert m.native_id == "dollardoge-above-dollar021652-on-sep-1-1200-utc-1756724413009"
    assert [o.price for o in m.outcomes] == [Decimal("0.428"), Decimal("0.572")]
    assert m.volume_total == Decimal("164.109293")
    assert m.liquidity == Decimal("50.000000")
    assert m.open_interest == Decimal("48.310707")
    assert m.end_at == datetime(2025, 9, 1, 12, 0, tzinfo=UTC)


def test_group_becomes_event_and_markets() -> None:
    events, markets, errors = parse.parse_market_body(load("constructed_group_market.json"))
    assert errors == []
    (event,) = events
    assert event.native_id == "next-fed-chair-1768000000000"
    assert event.title == "Who will be the next Fed chair?"
    assert event.neg_risk and event.mutually_exclusive
    assert event.volume_total == Decimal("512.000000")
    assert [m.native_id for m in markets] == [
        "next-fed-chair-hassett-1768000000001",
        "next-fed-chair-warsh-1768000000002",
    ]
    assert all(m.event_native_id == event.native_id for m in markets)
    assert all(m.event_title == event.title for m in markets)
    assert [o.token_id for o in markets[1].outcomes] == ["113", "114"]
    assert markets[0].outcomes[0].price == Decimal("0.62")


def test_resolved_and_expired_status() -> None:
    body = load("ccxt_comment_market_clob_single.json")
    resolved = {**body, "status": "RESOLVED", "winningOutcomeIndex": 1}
    (m,) = parse.parse_market_body(resolved)[1]
    assert m.status is MarketStatus.RESOLVED
    assert m.resolution and m.resolution.winning_outcome == 1
    assert m.resolution.payouts == [Decimal(0), Decimal(1)]
    expired = {**body, "expired": True}
    assert parse.parse_market_body(expired)[1][0].status is MarketStatus.CLOSED


def test_orderbook_mirrors_no_side() -> None:
    yes, no = parse.parse_orderbook("s", load("spec_example_orderbook.json"), NOW, no_token="n")
    assert (yes.best_bid, yes.best_ask) == (Decimal("0.74"), Decimal("0.76"))
    assert yes.token_id and yes.token_id.startswith("196332044857908579")
    assert (no.best_bid, no.best_ask) == (Decimal("0.24"), Decimal("0.26"))
    assert no.bids[0].size == Decimal(100) and no.asks[0].size == Decimal(150)
    assert no.token_id == "n"
    assert parse.orderbook_last_price(load("spec_example_orderbook.json")) == Decimal("0.75")


def test_orderbook_sorted_best_first() -> None:
    body = {
        "bids": [{"price": 0.1, "size": 5}, {"price": 0.3, "size": 1}, {"price": 0.2, "size": 2}],
        "asks": [{"price": 0.9, "size": 5}, {"price": 0.5, "size": 1}],
        "tokenId": "1",
    }
    yes, no = parse.parse_orderbook("s", body, NOW)
    assert [lv.price for lv in yes.bids] == [Decimal("0.3"), Decimal("0.2"), Decimal("0.1")]
    assert [lv.price for lv in yes.asks] == [Decimal("0.5"), Decimal("0.9")]
    assert [lv.price for lv in no.bids] == [Decimal("0.5"), Decimal("0.1")]
    assert [lv.price for lv in no.asks] == [Decimal("0.7"), Decimal("0.8"), Decimal("0.9")]


def test_historical_price() -> None:
    points, errors = parse.parse_historical_prices(
        "s", load("spec_example_historical_price.json"), ("y", "n")
    )
    assert errors == []
    yes, no = points
    assert (yes.outcome_index, yes.price, yes.token_id) == (0, Decimal("0.75"), "y")
    assert yes.ts == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert (no.outcome_index, no.price, no.token_id) == (1, Decimal("0.25"), "n")
    two = [
        {"title": "NO Token", "prices": [{"price": 0.4, "timestamp": "2025-09-01 11:30:31+00:00"}]},
        {"title": "YES Token", "prices": [{"price": 0.6, "timestamp": 1756726231000}]},
    ]
    points, errors = parse.parse_historical_prices("s", two)
    assert errors == []
    assert [(p.outcome_index, p.price) for p in points] == [
        (1, Decimal("0.4")),
        (0, Decimal("0.6")),
    ]
    assert points[0].ts == points[1].ts


def test_drifted_page_loses_only_the_bad_items() -> None:
    page = load("spec_example_markets_active.json")
    good = page["data"][0]
    missing = copy.deepcopy(good)
    del missing["title"]
    missing["slug"] = "missing-title"
    wrong = copy.deepcopy(good)
    wrong["slug"] = "wrong-volume"
    wrong["volume"] = "a lot"
    unknown = copy.deepcopy(good)
    unknown["slug"] = "odd-status"
    unknown["status"] = "HIBERNATING"
    newer = copy.deepcopy(good)
    newer["slug"] = "new-field"
    newer["someNewField"] = [1, 2]
    page["data"] = [missing, good, wrong, unknown, newer]
    _, markets, errors, _ = parse.parse_active_page(page)
    assert [m.native_id for m in markets] == [good["slug"], "new-field"]
    assert [(e.item_id, e.reason) for e in errors] == [
        ("missing-title", "missing field 'title'"),
        ("wrong-volume", "volume 'a lot' is not a number"),
        ("odd-status", "unknown status 'HIBERNATING'"),
    ]
    assert all(e.venue == "limitless" and e.endpoint == "/markets/active" for e in errors)


def test_bad_group_child_keeps_the_group() -> None:
    group = load("constructed_group_market.json")
    group["markets"][0]["prices"] = [0.6]
    events, markets, errors = parse.parse_market_body(group)
    assert len(events) == 1 and len(markets) == 1
    assert errors[0].item_id == "next-fed-chair-hassett-1768000000001"
    assert errors[0].endpoint == "/markets/{slug}"
