"""Polymarket parsers on recorded responses alone, with hand-verified values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from predhub.models import MarketStatus
from predhub.venues.normalize import ItemInvalid, key_id, parse_page
from predhub.venues.polymarket import parse

FIXTURES = Path(__file__).parent.parent / "fixtures" / "polymarket"
D = Decimal


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_every_gamma_market_fixture_parses() -> None:
    bodies = [
        *load("argos/gamma_markets_list.raw.json"),
        load("argos/gamma_market_by_id_closed_price_not_resolution.raw.json"),
        load("argos/gamma_market_by_id_resolved_after_dispute.raw.json"),
        *load("stone16/gamma_markets_closed_batch.json"),
        load("ra1nty_cli/market_detail.json"),
        *load("ra1nty_cli/market_search.json"),
        *(m for e in load("ra1nty_cli/public_search.json")["events"] for m in e["markets"]),
    ]
    for body in bodies:
        market = parse.parse_gamma_market(body)
        assert market.native_id == body["id"]
        assert len(market.outcomes) == 2


def test_open_negrisk_market_from_the_list() -> None:
    m = parse.parse_gamma_market(load("argos/gamma_markets_list.raw.json")[0])
    assert m.native_id == "2063134"
    assert m.question == "Will Adanech Abiebie be the next Prime Minister of Ethiopia?"
    assert m.condition_id == "0x7d0aaf81bbd3fd73b6a1651cce08a452c0cbf9c0cbb4520ce0f981065b639d88"
    assert m.status is MarketStatus.OPEN
    assert m.resolution is None
    assert [o.label for o in m.outcomes] == ["Yes", "No"]
    assert [o.price for o in m.outcomes] == [D("0.01"), D("0.99")]
    assert m.outcomes[0].token_id is not None and m.outcomes[0].token_id.startswith("2714695665")
    assert (m.best_bid, m.best_ask, m.last_price) == (D("0.003"), D("0.017"), D("0.019"))
    assert m.event_native_id == "411239"
    assert m.event_title == "Next Prime Minister of Ethiopia?"
    assert m.volume_total == D("74637265.46443298")
    assert m.liquidity == D("16085.17368")
    assert m.tick_size == D("0.001")
    assert m.end_at == datetime(2026, 6, 1, tzinfo=UTC)
    assert m.updated_at == datetime(2026, 8, 6, 22, 38, 20, 60949, tzinfo=UTC)
    assert m.extra["negRisk"] is True


def test_closed_with_a_price_is_not_a_resolution() -> None:
    m = parse.parse_gamma_market(
        load("argos/gamma_market_by_id_closed_price_not_resolution.raw.json")
    )
    assert m.native_id == "40"
    assert m.status is MarketStatus.CLOSED
    assert m.resolution is None
    assert m.outcomes[0].price == D("0.00000004364303498046286702037228176483457")
    assert m.outcomes[1].price == D("0.9999999563569650195371329796277182")
    assert m.extra["closedTime"] == "2020-11-09 17:55:41+00"


def test_resolved_after_dispute() -> None:
    m = parse.parse_gamma_market(load("argos/gamma_market_by_id_resolved_after_dispute.raw.json"))
    assert m.native_id == "1021160"
    assert m.status is MarketStatus.RESOLVED
    assert m.resolution is not None
    assert m.resolution.winning_outcome == 1  # "No"
    assert m.resolution.payouts == [D(0), D(1)]
    assert m.resolution.source == "uma"
    assert m.resolution.resolved_at == datetime(2026, 5, 24, 5, 25, 46, tzinfo=UTC)
    assert m.best_bid is None  # absent, not zero
    assert m.best_ask == D("0.001")


def test_resolved_ladder_batch_reads_the_single_uma_status() -> None:
    first, second = (
        parse.parse_gamma_market(x) for x in load("stone16/gamma_markets_closed_batch.json")
    )
    assert first.native_id == "2489956"
    assert first.question == "Ethereum above 1,690 on June 10, 9AM ET?"
    assert first.status is MarketStatus.RESOLVED
    assert first.resolution is not None and first.resolution.winning_outcome == 1
    assert first.resolution.source == "uma"
    assert first.volume_total == D(160)
    assert second.native_id == "2489957"
    assert second.status is MarketStatus.RESOLVED


@pytest.mark.parametrize(
    ("closed", "prices", "uma", "status", "winner", "void"),
    [
        (False, ["0.3", "0.7"], [], MarketStatus.OPEN, None, False),
        (True, ["0.3", "0.7"], [], MarketStatus.CLOSED, None, False),
        (True, ["1", "0"], [], MarketStatus.RESOLVED, 0, False),
        (True, ["0.5", "0.5"], ["proposed", "resolved"], MarketStatus.VOIDED, None, True),
        (True, ["0.5", "0.5"], [], MarketStatus.CLOSED, None, False),
        (True, ["0.5", "0.5"], ["resolved", "disputed"], MarketStatus.CLOSED, None, False),
        # a partial settlement: resolved by UMA, no single winner, each outcome's share paid
        (True, ["0.3", "0.7"], ["proposed", "resolved"], MarketStatus.RESOLVED, None, False),
    ],
)
def test_status_and_resolution_rules(
    closed: bool,
    prices: list[str],
    uma: list[str],
    status: MarketStatus,
    winner: int | None,
    void: bool,
) -> None:
    body = load("argos/gamma_market_by_id_resolved_after_dispute.raw.json")
    body.update(
        closed=closed,
        outcomePrices=json.dumps(prices),
        umaResolutionStatuses=json.dumps(uma),
    )
    body.pop("umaResolutionStatus")
    m = parse.parse_gamma_market(body)
    assert m.status is status
    if status in (MarketStatus.RESOLVED, MarketStatus.VOIDED):
        assert m.resolution is not None
        assert m.resolution.winning_outcome == winner
        assert m.resolution.is_void is void
        assert m.resolution.payouts == [D(p) for p in prices]
    else:
        assert m.resolution is None


def test_drift_in_the_middle_of_a_page_keeps_the_rest() -> None:
    page = load("argos/gamma_markets_list.raw.json")
    page[1] = dict(page[1], outcomePrices=12.5)  # a number where a JSON string was
    del page[2]["question"]
    page.append(dict(page[0], id="999", brandNewField={"x": 1}, outcomes='["Yes"'))
    page.append(dict(page[0], id="1000", closed="maybe"))
    page.append(dict(page[0], id="1001", newField=[1, 2, 3]))  # a new field is fine
    items, errors = parse_page(
        "polymarket", "/markets/keyset", page, parse.parse_gamma_market, key_id("id")
    )
    assert [m.native_id for m in items] == ["2063134", "1001"]
    assert {(e.item_id, e.endpoint) for e in errors} == {
        ("703258", "/markets/keyset"),
        ("665374", "/markets/keyset"),
        ("999", "/markets/keyset"),
        ("1000", "/markets/keyset"),
    }
    reasons = {e.item_id: e.reason for e in errors}
    assert "outcomePrices" in reasons["703258"]
    assert "question" in reasons["665374"]
    assert all(e.venue == "polymarket" and e.item is not None for e in errors)


def test_mismatched_outcome_lists_are_refused() -> None:
    body = load("ra1nty_cli/market_detail.json")
    body["clobTokenIds"] = '["1", "2", "3"]'
    with pytest.raises(ItemInvalid, match="clobTokenIds") as info:
        parse.parse_gamma_market(body)
    assert info.value.item_id == "1669969"


def test_events_from_the_list_and_the_search() -> None:
    event_body = load("argos/gamma_markets_list.raw.json")[0]["events"][0]
    ev = parse.parse_gamma_event(event_body)
    assert ev.native_id == "411239"
    assert ev.title == "Next Prime Minister of Ethiopia?"
    assert ev.neg_risk and ev.mutually_exclusive
    assert ev.status is MarketStatus.OPEN
    assert ev.volume_total == D("268908921.02939296")
    search = load("ra1nty_cli/public_search.json")
    [found] = [parse.parse_gamma_event(e) for e in search["events"]]
    assert found.native_id == "292275"
    assert found.slug == "btc-updown-5m-1774165800"


def test_clob_market_with_winner_flags() -> None:
    m = parse.parse_clob_market(
        load("argos/clob_market_by_condition_id_resolved.raw.json"), native_id="g1"
    )
    assert m.native_id == "g1"
    assert m.condition_id == "0x94a39addec8bd24a2d03deeaa43bdee6a2b11eca403cd12495eb24132cc23173"
    assert m.status is MarketStatus.RESOLVED
    assert m.resolution is not None and m.resolution.winning_outcome == 1
    assert [o.label for o in m.outcomes] == ["Diana Shnaider", "Iga Swiatek"]
    assert m.tick_size == D("0.001")


def test_book_is_best_first_whatever_the_venue_order() -> None:
    body = load("argos/clob_book_negrisk.raw.json")
    book = parse.parse_book(body, "m1", 0)
    # recorded: bids ascending (0.01 .. 0.42), asks descending (0.99 .. 0.43)
    assert body["bids"][-1]["price"] == "0.42" and body["asks"][-1]["price"] == "0.43"
    assert book.best_bid == D("0.42")
    assert book.best_ask == D("0.43")
    assert book.bids[0].size == D("95.09")
    assert book.asks[0].size == D("43416.61")
    assert len(book.bids) == 41 and len(book.asks) == 45
    assert all(a.price > b.price for a, b in zip(book.bids, book.bids[1:], strict=False))
    assert book.observed_at == datetime.fromtimestamp(1786385407.185, UTC)
    assert book.book_hash == "4f5acf63ca0bba3aad4d9b888c6a05614ce9cf7a"
    # the same session's /price answers BUY 0.42 (best bid), SELL 0.43 (best ask)
    related = load("argos/clob_related_endpoints_and_errors.json")["responses"]
    assert related["GET /price?token_id=<fed_yes>&side=BUY"]["price"] == str(book.best_bid)
    assert related["GET /price?token_id=<fed_yes>&side=SELL"]["price"] == str(book.best_ask)


def test_book_with_empty_bids() -> None:
    book = parse.parse_book(load("ra1nty_cli/book.json"), "1669969", 0)
    assert book.bids == []
    assert book.best_bid is None
    assert book.best_ask == D("0.001")
    assert load("ra1nty_cli/midpoint.json") == {"mid": "0.0005"}  # (0 + 0.001) / 2


def test_price_history() -> None:
    points = parse.parse_price_history(load("ra1nty_cli/price_history.json"), "1669969", 1, "tok")
    assert [(p.ts, p.price) for p in points] == [
        (datetime.fromtimestamp(1774165200, UTC), D("0.42")),
        (datetime.fromtimestamp(1774165500, UTC), D("0.5")),
        (datetime.fromtimestamp(1774168800, UTC), D("0.65")),
        (datetime.fromtimestamp(1774169100, UTC), D("0.6")),
    ]
    assert all(p.outcome_index == 1 and p.token_id == "tok" for p in points)


def test_data_api_trades() -> None:
    rows = load("ra1nty_cli/trades.json") + load("edulabrador_smart_money/data_api_trades.json")
    trades = [parse.parse_trade(r, "m") for r in rows]
    assert len({t.trade_key for t in trades}) == len(trades)
    first = trades[0]
    assert first.price == D("0.9") and first.size == D("3.28888")
    assert first.side == "buy" and first.outcome_index == 1
    assert first.executed_at == datetime.fromtimestamp(1774166009, UTC)
    assert first.trade_key == f"{rows[0]['transactionHash']}:1:BUY:3.28888:0.9"
    whole = trades[4]  # size sent as an integer
    assert whole.size == D(40000) and whole.price == D("0.48")
    assert whole.trade_key.endswith(":0:BUY:40000:0.48")


def test_websocket_trade_has_the_rest_key() -> None:
    frame = load("argos/ws_last_trade_price.raw.json")
    tokens = {frame["asset_id"]: ("m", 0)}
    quotes, trades, books, errors = parse.parse_ws_message(frame, tokens, datetime.now(UTC))
    assert errors == [] and books == []
    [trade] = trades
    assert trade.price == D("0.54") and trade.size == D("18.518517")
    assert trade.trade_key == (
        "0xfe173cc9e6bd81abd2df62e3ccd199930dbe4d3c4013d1336e6ec5e54a38d3a4:0:BUY:18.518517:0.54"
    )
    rest_row = {
        "transactionHash": frame["transaction_hash"],
        "outcomeIndex": 0,
        "side": "BUY",
        "size": 18.518517,
        "price": 0.54,
        "timestamp": 1787178044,
    }
    assert parse.parse_trade(rest_row, "m").trade_key == trade.trade_key
    assert quotes[0].last == D("0.54")


def test_websocket_session_first_book_is_wrapped_in_a_list() -> None:
    session = load("argos/ws_market_channel_session.excerpt.json")
    yes = "34691510069031117755834214800869745291092253295564665516660269316660628637961"
    no = "95561057794427123541889915407555646439882912350845258651794843110787555977699"
    tokens = {yes: ("m", 0), no: ("m", 1)}
    frames = [m["raw"] for m in session["messages"] if m["direction"] == "recv"]
    first = json.loads(frames[0])
    assert isinstance(first, list)
    quotes, _, books, errors = parse.parse_ws_message(first, tokens, datetime.now(UTC))
    assert errors == []
    [book] = books
    assert book.token_id == yes and book.outcome_index == 0
    assert book.best_bid == D("0.28") and book.best_ask == D("0.29")
    assert quotes[0].last == D("0.280")
    data = [json.loads(f) for f in frames[1:] if f != "PONG"]
    changes = [q for d in data for q in parse.parse_ws_message(d, tokens, datetime.now(UTC))[0]]
    assert len(changes) == 8
    by_token = {q.token_id: q for q in changes}
    assert (by_token[no].best_bid, by_token[no].best_ask) == (D("0.71"), D("0.72"))
    assert (by_token[yes].best_bid, by_token[yes].best_ask) == (D("0.28"), D("0.29"))
    assert by_token[no].outcome_index == 1
    assert changes[0].observed_at == datetime.fromtimestamp(1786387666.174, UTC)


def test_websocket_unknown_and_bad_frames_are_reported() -> None:
    tokens = {"t": ("m", 0)}
    _, _, _, errors = parse.parse_ws_message(
        [{"event_type": "surprise"}, 7, {"event_type": "book", "asset_id": "t", "bids": "x"}],
        tokens,
        datetime.now(UTC),
    )
    assert [e[0] for e in errors] == [None, None, "t"]
    assert "surprise" in errors[0][1]
