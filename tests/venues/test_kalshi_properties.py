"""Property tests for the Kalshi normalizers: exact prices, no lost outcome, mirrored books."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from predhub.venues.kalshi import parse
from predhub.venues.normalize import price

FIXTURE = Path(__file__).parent.parent / "fixtures" / "kalshi" / "feetball_money_maker"
TEMPLATE: dict[str, Any] = json.loads((FIXTURE / "market_settled.json").read_text())["market"]
NOW = datetime(2026, 9, 26, tzinfo=UTC)

# Kalshi spells dollars with up to 4 (documented) to 6 (seen) decimals, counts with 2.
dollar_strings = st.builds(
    lambda units, places: f"{Decimal(units).scaleb(-places):.{places}f}",
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=6),
).filter(lambda s: Decimal(s) <= 1)
count_strings = st.integers(min_value=0, max_value=10**9).map(
    lambda c: f"{Decimal(c).scaleb(-2):.2f}"
)
statuses = st.sampled_from(
    [
        ("initialized", ""),
        ("active", ""),
        ("inactive", ""),
        ("closed", ""),
        ("determined", ""),
        ("determined", "yes"),
        ("settled", "no"),
        ("finalized", "yes"),
        ("finalized", ""),
    ]
)


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(dollar_strings)
def test_any_price_string_round_trips_exactly(text: str) -> None:
    value = price(text)
    assert value == Decimal(text)
    assert str(value) == text


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(dollar_strings.filter(lambda s: 0 < Decimal(s) < 1), count_strings)
def test_market_prices_keep_their_digits(bid: str, size: str) -> None:
    item = {**TEMPLATE, "status": "active", "result": "", "yes_bid_dollars": bid}
    item["yes_bid_size_fp"] = size
    market = parse.parse_market(item)
    if Decimal(size) == 0:
        assert market.best_bid is None
    else:
        assert market.best_bid is not None and f"{market.best_bid:f}" == bid


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(statuses, dollar_strings, count_strings, count_strings)
def test_no_valid_market_loses_an_outcome(
    status: tuple[str, str], last: str, volume: str, open_interest: str
) -> None:
    item = {
        **TEMPLATE,
        "status": status[0],
        "result": status[1],
        "last_price_dollars": last,
        "volume_fp": volume,
        "open_interest_fp": open_interest,
    }
    item.pop("settlement_value_dollars")
    market = parse.parse_market(item)
    assert [(o.index, o.label) for o in market.outcomes] == [(0, "Yes"), (1, "No")]
    if market.outcomes[0].price is not None:
        assert market.outcomes[0].price + market.outcomes[1].price == 1  # type: ignore[operator]
    if market.resolution is not None and market.resolution.payouts is not None:
        assert sum(market.resolution.payouts) == 1


levels = st.lists(
    st.tuples(dollar_strings.filter(lambda s: 0 < Decimal(s) < 1), count_strings),
    max_size=12,
    unique_by=lambda lv: Decimal(lv[0]),
)


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(levels, levels)
def test_bids_only_books_mirror_exactly(
    yes: list[tuple[str, str]], no: list[tuple[str, str]]
) -> None:
    book = {"yes_dollars": [list(lv) for lv in yes], "no_dollars": [list(lv) for lv in no]}
    y, n = parse.parse_orderbook("T", book, NOW)
    assert len(y.bids) == len(n.asks) == len(yes)
    assert len(n.bids) == len(y.asks) == len(no)
    for book_ in (y, n):
        assert [lv.price for lv in book_.bids] == sorted(
            (lv.price for lv in book_.bids), reverse=True
        )
        assert [lv.price for lv in book_.asks] == sorted(lv.price for lv in book_.asks)
    for bid, ask in zip(y.bids, n.asks, strict=True):
        assert bid.price + ask.price == 1 and bid.size == ask.size
    if y.best_bid is not None:
        assert y.best_bid == max(Decimal(p) for p, _ in yes)
    if y.best_ask is not None:
        assert y.best_ask == 1 - max(Decimal(p) for p, _ in no)
