"""Kalshi parsers on recorded responses: hand-checked values, bids-only books, drift."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from predhub.models import MarketStatus
from predhub.venues.kalshi import parse
from predhub.venues.normalize import ItemInvalid

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kalshi" / "feetball_money_maker"
NOW = datetime(2026, 9, 26, 23, 5, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


# Recorded responses of endpoints the adapter does not read (kept for reference).
UNUSED = {"series_quadratic.json", "exchange_status.json"}
PARSED = {
    "markets_page.json",
    "events_nested.json",
    "market_settled.json",
    "trades.json",
    "orderbook.json",
    "orderbook_empty.json",
    "candlesticks.json",
}


def test_every_fixture_is_accounted_for() -> None:
    assert {p.name for p in FIXTURES.glob("*.json")} == PARSED | UNUSED


def test_every_recorded_fixture_parses() -> None:
    markets, errors, cursor = parse.parse_markets_page(load("markets_page.json"))
    assert (len(markets), errors) == (3, [])
    assert cursor.startswith("CgsInpzh1QYQ")
    events, nested, errors, cursor = parse.parse_events_page(load("events_nested.json"))
    assert (len(events), len(nested), errors) == (1, 3, [])
    assert cursor == "CgYIrLvh1QYSEEtYQlRDRC0yNlNFUDI2MjA"
    assert parse.parse_market_body(load("market_settled.json")).native_id
    trades, errors, cursor = parse.parse_trades_page(load("trades.json"))
    assert (len(trades), errors) == (12, [])
    assert len(parse.parse_orderbook_body("T", load("orderbook.json"), NOW)) == 2
    assert len(parse.parse_orderbook_body("T", load("orderbook_empty.json"), NOW)) == 2
    points, errors = parse.parse_candlesticks("T", load("candlesticks.json"))
    assert points and errors == []


def test_open_market_values() -> None:
    markets, _, _ = parse.parse_markets_page(load("markets_page.json"))
    m = markets[0]
    assert m.venue == "kalshi"
    assert m.native_id == m.ticker == "KXUSLTOTAL-26SEP26IELMIA-7"
    assert m.event_native_id == "KXUSLTOTAL-26SEP26IELMIA"
    assert m.question == "Will over 6.5 goals be scored?"
    assert m.status is MarketStatus.OPEN and m.resolution is None
    assert [(o.index, o.label) for o in m.outcomes] == [(0, "Yes"), (1, "No")]
    assert m.best_bid == Decimal("0.0500") and str(m.best_bid) == "0.0500"
    assert m.best_ask == Decimal("0.8200")
    assert m.last_price is None  # "0.0000" on a market with zero volume
    assert m.volume_total == Decimal("0.00")
    assert m.tick_size == Decimal("0.0100")
    assert m.end_at == datetime(2026, 9, 28, 23, 0, tzinfo=UTC)
    assert m.updated_at == datetime(2026, 9, 26, 23, 2, 19, 110704, tzinfo=UTC)
    # An empty side is "0.0000" with size "0.00": no bid, no ask, not a price of zero.
    nfl = markets[1]
    assert nfl.ticker == "KXNFLCAREERRECYDS-MEVANS-22896"
    assert (nfl.best_bid, nfl.best_ask) == (None, None)
    btc = markets[2]
    assert btc.tick_size == Decimal("0.0010")  # tapered_deci_cent: finest step
    assert btc.last_price == Decimal("0.7500")
    assert btc.outcomes[1].price == Decimal("0.2500")


def test_events_nested_values() -> None:
    events, markets, _, _ = parse.parse_events_page(load("events_nested.json"))
    event = events[0]
    assert event.native_id == "KXBTCD-26SEP2620"
    assert event.title == "BTC price on Sep 26, 2026 at 8pm EDT?"
    assert event.category == "Crypto"
    assert event.mutually_exclusive is False
    assert event.extra["series_ticker"] == "KXBTCD"
    assert event.volume_total == Decimal("15285.50") + Decimal("20860.11") + markets[2].volume_total
    first = markets[0]
    assert first.ticker == "KXBTCD-26SEP2620-T84499.99"
    assert first.event_title == event.title and first.category == "Crypto"
    assert (first.best_bid, first.best_ask, first.last_price) == (
        Decimal("0.1400"),
        Decimal("0.1500"),
        Decimal("0.1400"),
    )
    assert first.volume_24h == Decimal("3001.61")
    assert first.open_interest == Decimal("13407.43")


def test_settled_market_resolution() -> None:
    m = parse.parse_market_body(load("market_settled.json"))
    assert m.native_id == "KXBTC15M-26SEP261845-45"
    assert m.status is MarketStatus.RESOLVED
    assert m.resolution is not None
    assert m.resolution.winning_outcome == 1  # result "no"
    assert m.resolution.payouts == [Decimal("0"), Decimal("1")]
    assert m.resolution.resolved_at == datetime(2026, 9, 26, 22, 45, 6, 498770, tzinfo=UTC)
    assert (m.best_bid, m.best_ask) == (None, None)  # settled: both sides empty
    assert m.volume_total == Decimal("2611281.33")


@pytest.mark.parametrize(
    ("status", "result", "expected", "winner", "void"),
    [
        ("initialized", "", MarketStatus.OPEN, None, False),
        ("active", "", MarketStatus.OPEN, None, False),
        ("inactive", "", MarketStatus.CLOSED, None, False),
        ("closed", "", MarketStatus.CLOSED, None, False),
        ("determined", "", MarketStatus.CLOSED, None, False),
        ("determined", "yes", MarketStatus.RESOLVED, 0, False),
        ("settled", "no", MarketStatus.RESOLVED, 1, False),
        ("finalized", "", MarketStatus.VOIDED, None, True),
        ("finalized", "void", MarketStatus.VOIDED, None, True),
    ],
)
def test_status_mapping(
    status: str, result: str, expected: MarketStatus, winner: int | None, void: bool
) -> None:
    mapped, resolution = parse.parse_status(status, result, None)
    assert mapped is expected
    assert (resolution.winning_outcome if resolution else None) == winner
    assert (resolution.is_void if resolution else False) is void


def test_a_scalar_settlement_pays_each_side_its_share() -> None:
    """A partial payout: no winning outcome, Yes paid the settlement value and No the rest."""
    mapped, resolution = parse.parse_status("settled", "scalar", Decimal("0.3"))
    assert mapped is MarketStatus.RESOLVED and resolution is not None
    assert resolution.winning_outcome is None and resolution.is_void is False
    assert resolution.payouts == [Decimal("0.3"), Decimal("0.7")]
    with pytest.raises(ItemInvalid, match="settlement_value"):
        parse.parse_status("settled", "scalar", None)


def test_bids_only_book_becomes_both_sides() -> None:
    yes, no = parse.parse_orderbook_body("T", load("orderbook.json"), NOW)
    # Yes bids as recorded, best (highest) first.
    assert (yes.outcome_index, no.outcome_index) == (0, 1)
    assert yes.best_bid == Decimal("0.1200") and yes.bids[0].size == Decimal("1090.25")
    assert [lv.price for lv in yes.bids] == sorted((lv.price for lv in yes.bids), reverse=True)
    # A No bid at 0.87 is a Yes ask at 0.13, same size.
    assert yes.best_ask == Decimal("0.1300") and yes.asks[0].size == Decimal("212.74")
    assert str(yes.asks[-1].price) == "0.2000"
    assert no.best_bid == Decimal("0.8700")
    assert no.best_ask == Decimal("0.8800") and no.asks[0].size == Decimal("1090.25")
    assert len(yes.bids) == len(no.asks) == 8
    empty_yes, empty_no = parse.parse_orderbook_body("T", load("orderbook_empty.json"), NOW)
    assert empty_yes.bids == empty_yes.asks == empty_no.bids == empty_no.asks == []


def test_batch_orderbooks_keep_good_entries() -> None:
    book = load("orderbook.json")["orderbook_fp"]
    body = {
        "orderbooks": [
            {"ticker": "A", "orderbook_fp": book},
            {"ticker": "B", "orderbook_fp": {"yes_dollars": [["0.5", "ten"]], "no_dollars": []}},
        ]
    }
    books, errors = parse.parse_orderbooks_page(body, NOW)
    assert [(b.market_native_id, b.outcome_index) for b in books] == [("A", 0), ("A", 1)]
    assert len(errors) == 1 and errors[0].item_id == "B" and "not a number" in errors[0].reason


def test_trades_are_yes_trades() -> None:
    trades, _, _ = parse.parse_trades_page(load("trades.json"))
    first = trades[0]
    assert first.trade_key == "0723a02e-ce79-bd02-58fa-ca93260b800f"
    assert first.market_native_id == "KXBTCD-26SEP2620-T84499.99"
    assert (first.price, first.size, first.side, first.outcome_index) == (
        Decimal("0.1300"),
        Decimal("113.90"),
        "sell",  # taker bought No = sold Yes
        0,
    )
    assert first.executed_at == datetime(2026, 9, 26, 23, 4, 12, 722910, tzinfo=UTC)
    assert trades[1].side == "buy" and trades[1].price == Decimal("0.1200")
    assert min(t.size for t in trades) == Decimal("0.75")  # fractional count


def test_candlesticks_use_close_then_previous() -> None:
    body = load("candlesticks.json")
    points, _ = parse.parse_candlesticks("T", body)
    first_yes = points[0]
    assert (first_yes.outcome_index, first_yes.price) == (0, Decimal("0.4500"))
    assert first_yes.ts == datetime.fromtimestamp(1790461860, UTC)
    assert (points[1].outcome_index, points[1].price) == (1, Decimal("0.5500"))
    no_trades = copy.deepcopy(body)
    del no_trades["candlesticks"][1]["price"]["close_dollars"]
    points, _ = parse.parse_candlesticks("T", no_trades)
    assert points[2].price == Decimal("0.4500")  # previous_dollars


def test_historical_candles_spell_dollars_without_suffix() -> None:
    body = {"candlesticks": [{"end_period_ts": 1700000000, "price": {"close": "0.4200"}}]}
    points, errors = parse.parse_candlesticks("T", body, historical=True)
    assert errors == [] and points[0].price == Decimal("0.4200")


def test_quotes_from_market_cover_both_outcomes() -> None:
    _, markets, _, _ = parse.parse_events_page(load("events_nested.json"))
    yes, no = parse.quotes_from_market(markets[0], NOW)
    assert (yes.best_bid, yes.best_ask, yes.mid, yes.last) == (
        Decimal("0.1400"),
        Decimal("0.1500"),
        Decimal("0.145"),
        Decimal("0.1400"),
    )
    assert (no.best_bid, no.best_ask, no.last) == (
        Decimal("0.8500"),
        Decimal("0.8600"),
        Decimal("0.8600"),
    )


def test_drifted_page_loses_only_the_bad_items() -> None:
    body = load("markets_page.json")
    del body["markets"][0]["ticker"]  # a missing field
    body["markets"][1]["yes_bid_dollars"] = "cheap"  # a string where a number was
    body["markets"][2]["brand_new_field"] = {"x": 1}  # a new field is fine
    markets, errors, _ = parse.parse_markets_page(body)
    assert [m.ticker for m in markets] == ["KXBTC15M-26SEP261915-15"]
    assert len(errors) == 2
    assert errors[0].reason == "missing field 'ticker'" and errors[0].item_id is None
    assert errors[1].item_id == "KXNFLCAREERRECYDS-MEVANS-22896"
    assert "yes_bid_dollars" in errors[1].reason
    assert all(e.venue == "kalshi" and e.endpoint == "/markets" for e in errors)
    assert errors[1].item is body["markets"][1]


def test_unknown_status_is_a_data_error() -> None:
    body = load("markets_page.json")
    body["markets"][0]["status"] = "hibernating"
    markets, errors, _ = parse.parse_markets_page(body)
    assert len(markets) == 2
    assert errors[0].reason == "unknown status 'hibernating'"


def test_bad_nested_market_keeps_its_event() -> None:
    body = load("events_nested.json")
    body["events"][0]["markets"][1]["volume_fp"] = 12.5  # a number: still fine
    body["events"][0]["markets"][2]["close_time"] = "tomorrow"
    events, markets, errors, _ = parse.parse_events_page(body)
    assert len(events) == 1 and len(markets) == 2
    assert markets[1].volume_total == Decimal("12.5")
    assert errors[0].item_id == "KXBTCD-26SEP2620-T84599.99"


def test_page_without_list_is_invalid() -> None:
    with pytest.raises(ItemInvalid):
        parse.parse_markets_page({"error": "oops"})


def test_batch_candlesticks_keep_each_market_apart() -> None:
    """`/markets/candlesticks` (BatchGetMarketCandlesticksResponse): grouped by market_ticker."""
    candles = load("candlesticks.json")["candlesticks"]
    body = {
        "markets": [
            {"market_ticker": "A", "candlesticks": candles},
            {"market_ticker": "B", "candlesticks": candles[:1]},
            {"market_ticker": "Z", "candlesticks": candles},  # not asked for
            {"candlesticks": candles},  # no ticker
        ]
    }
    points, errors, counts = parse.parse_batch_candlesticks(body, {"A", "B"})
    alone, _ = parse.parse_candlesticks("A", load("candlesticks.json"))
    assert counts == {"A": len(candles), "B": 1}
    assert [p for p in points if p.market_native_id == "A"] == alone
    assert {p.market_native_id for p in points} == {"A", "B"}
    assert len(errors) == 2 and "not asked for" in errors[0].reason
