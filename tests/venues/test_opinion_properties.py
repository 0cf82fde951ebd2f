"""Property tests for the Opinion normalizers: exact price strings, no lost outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from predhub.venues.opinion import parse

FIXTURES = Path(__file__).parent.parent / "fixtures" / "opinion"
CATEGORICAL: dict[str, Any] = json.loads((FIXTURES / "market_detail_categorical.json").read_text())
NOW = datetime(2026, 9, 21, tzinfo=UTC)

price_strings = st.builds(
    lambda units, places: f"{Decimal(units).scaleb(-places):.{places}f}",
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=6),
).filter(lambda s: Decimal(s) <= 1)


def envelope(result: Any) -> dict[str, Any]:
    return {"code": 0, "msg": "success", "result": result}


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(price_strings)
def test_latest_price_round_trips_exactly(text: str) -> None:
    body = envelope({"tokenId": "1", "price": text, "side": "Buy", "size": "1", "timestamp": 1})
    quote = parse.parse_latest_price("m", 0, "1", body, NOW)
    assert quote.last == Decimal(text) and str(quote.last) == text


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(st.lists(price_strings, min_size=1, max_size=10), st.lists(price_strings, max_size=10))
def test_book_levels_keep_digits_and_order(bids: list[str], asks: list[str]) -> None:
    body = envelope(
        {
            "tokenId": "1",
            "timestamp": 1790000000000,
            "bids": [{"price": p, "size": "1"} for p in bids],
            "asks": [{"price": p, "size": "2"} for p in asks],
        }
    )
    book = parse.parse_orderbook("m", 0, "1", body, NOW)
    assert sorted(str(lv.price) for lv in book.bids) == sorted(bids)
    assert book.best_bid == max(Decimal(p) for p in bids)
    assert [lv.price for lv in book.asks] == sorted(Decimal(p) for p in asks)


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(st.integers(min_value=1, max_value=12), st.sampled_from([1, 2, 3, 4, 5]))
def test_no_categorical_child_loses_an_outcome(count: int, status: int) -> None:
    data = CATEGORICAL["result"]["data"]
    template = data["childMarkets"][0]
    children = [
        {
            **template,
            "marketId": 5000 + i,
            "status": status,
            "yesTokenId": f"{i}1",
            "noTokenId": f"{i}2",
            "resultTokenId": f"{i}2" if status == 4 else "",
        }
        for i in range(count)
    ]
    body = envelope({"data": {**data, "childMarkets": children}})
    events, markets, errors = parse.parse_market_detail(body)
    assert errors == [] and [e.native_id for e in events] == ["2001"]
    assert [m.native_id for m in markets] == [str(5000 + i) for i in range(count)]
    for i, market in enumerate(markets):
        assert [(o.index, o.token_id) for o in market.outcomes] == [(0, f"{i}1"), (1, f"{i}2")]
        if status == 4:
            assert market.resolution and market.resolution.winning_outcome == 1
