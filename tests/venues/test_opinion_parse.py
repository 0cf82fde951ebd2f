"""Opinion parsers on payloads built from its OpenAPI schemas: envelope, categorical, drift."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from predhub.models import MarketStatus
from predhub.venues.opinion import parse

FIXTURES = Path(__file__).parent.parent / "fixtures" / "opinion"
NOW = datetime(2026, 9, 21, 14, 0, tzinfo=UTC)
YES = "59374025093740192587423674917412649179231098477140182367123412349812736401"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_market_list_values() -> None:
    events, markets, errors, total, items = parse.parse_market_list(load("market_list.json"))
    assert (errors, total, len(items)) == ([], 3, 3)
    assert [m.native_id for m in markets] == ["1274", "2002", "2003", "1101"]
    fed = markets[0]
    assert fed.venue == "opinion"
    assert fed.question == "Will the Fed cut rates in December 2026?"
    assert fed.status is MarketStatus.OPEN and fed.event_native_id is None
    assert [(o.index, o.label, o.token_id) for o in fed.outcomes] == [
        (0, "Yes", YES),
        (1, "No", "10928374650192837465019283746501928374650192837465019283746501928374650192"),
    ]
    assert fed.volume_total == Decimal("1834502.417") and fed.volume_24h == Decimal("20551.3")
    assert fed.end_at == datetime.fromtimestamp(1797811200, UTC)
    assert fed.condition_id and fed.condition_id.startswith("0x4f1b2c")
    (event,) = events
    assert (event.native_id, event.title) == ("2001", "Who will win the 2026 Ballon d'Or?")
    assert event.mutually_exclusive and event.status is MarketStatus.OPEN
    yamal = markets[1]
    assert (yamal.question, yamal.event_native_id, yamal.event_title) == (
        "Lamine Yamal",
        "2001",
        "Who will win the 2026 Ballon d'Or?",
    )
    resolved = markets[3]
    assert resolved.status is MarketStatus.RESOLVED
    assert resolved.resolution and resolved.resolution.winning_outcome == 1
    assert resolved.resolution.resolved_at == datetime.fromtimestamp(1790816400, UTC)


def test_detail_bodies() -> None:
    events, markets, errors = parse.parse_market_detail(load("market_detail_binary.json"))
    assert (events, errors, [m.native_id for m in markets]) == ([], [], ["1274"])
    events, markets, errors = parse.parse_market_detail(load("market_detail_categorical.json"))
    assert [e.native_id for e in events] == ["2001"] and errors == []
    assert [m.native_id for m in markets] == ["2002", "2003"]


def test_token_endpoints() -> None:
    quote = parse.parse_latest_price("1274", 0, YES, load("latest_price.json"), NOW)
    assert (quote.last, quote.price, quote.token_id) == (Decimal("0.635"), Decimal("0.635"), YES)
    assert quote.observed_at == NOW
    book = parse.parse_orderbook("1274", 0, YES, load("orderbook.json"), NOW)
    assert (book.best_bid, book.best_ask) == (Decimal("0.63"), Decimal("0.64"))
    assert book.bids[1].size == Decimal("845.5") and book.asks[-1].price == Decimal("0.7")
    points, errors = parse.parse_price_history("1274", 0, YES, load("price_history.json"))
    assert errors == [] and [str(p.price) for p in points] == ["0.61", "0.625", "0.635"]
    assert points[0].ts == datetime.fromtimestamp(1790000000, UTC)


def test_error_envelope_is_refused() -> None:
    with pytest.raises(parse.EnvelopeError) as info:
        parse.parse_market_list(load("error_envelope.json"))
    assert info.value.code == 10403 and info.value.msg == "invalid apikey"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(1, MarketStatus.OPEN), (3, MarketStatus.CLOSED), (5, MarketStatus.VOIDED)],
)
def test_status_codes(status: int, expected: MarketStatus) -> None:
    body = load("market_detail_binary.json")
    body["result"]["data"]["status"] = status
    assert parse.parse_market_detail(body)[1][0].status is expected


def test_status_enum_alone_is_enough() -> None:
    body = load("market_detail_binary.json")
    del body["result"]["data"]["status"]
    body["result"]["data"]["statusEnum"] = "Resolving"
    assert parse.parse_market_detail(body)[1][0].status is MarketStatus.CLOSED


def test_drifted_page_loses_only_the_bad_items() -> None:
    body = load("market_list.json")
    items = body["result"]["list"]
    extra = copy.deepcopy(items[0])
    extra["marketId"] = 1300
    extra["newThing"] = {"a": 1}
    items.append(extra)
    del items[0]["marketTitle"]  # missing field
    items[2]["volume"] = "many"  # string where a number was
    items[1]["childMarkets"][0]["status"] = 42  # unknown status, in a child
    events, markets, errors, _, _ = parse.parse_market_list(body)
    assert [m.native_id for m in markets] == ["2003", "1300"]
    assert [(e.item_id, e.reason) for e in errors] == [
        ("1274", "missing field 'marketTitle'"),
        ("1101", "volume 'many' is not a number"),
        ("2002", "unknown status 42"),
    ]
    assert all(e.venue == "opinion" and e.endpoint == "/market" for e in errors)
    assert [e.native_id for e in events] == ["2001"]
