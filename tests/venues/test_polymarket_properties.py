"""Property tests for the Polymarket normalizers (hypothesis)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from predhub.models import MarketStatus
from predhub.venues.polymarket import parse

# Price strings as Polymarket writes them: "0", "1", "0.5", "0.0195", "1.000", ...
price_text = st.one_of(
    st.sampled_from(["0", "1", "1.0", "0.000", "1.000"]),
    st.builds(
        lambda digits: "0." + digits,
        st.text(alphabet="0123456789", min_size=1, max_size=30),
    ),
)


def market(prices: list[str], labels: list[str], closed: bool, uma: list[str]) -> dict[str, Any]:
    return {
        "id": "1",
        "question": "q?",
        "outcomes": json.dumps(labels),
        "outcomePrices": json.dumps(prices),
        "clobTokenIds": json.dumps([str(10**20 + i) for i in range(len(labels))]),
        "closed": closed,
        "umaResolutionStatuses": json.dumps(uma),
    }


@given(price_text)
def test_any_valid_price_string_round_trips_exactly(text: str) -> None:
    m = parse.parse_gamma_market(market([text, text], ["Yes", "No"], False, []))
    assert m.outcomes[0].price is not None
    assert str(m.outcomes[0].price) == text  # the venue's digits, unchanged
    assert m.outcomes[0].price == Decimal(text)


@settings(max_examples=100)
@given(
    st.lists(price_text, min_size=2, max_size=12),
    st.booleans(),
    st.lists(st.sampled_from(["proposed", "disputed", "resolved"]), max_size=4),
    st.data(),
)
def test_no_valid_payload_loses_an_outcome(
    prices: list[str], closed: bool, uma: list[str], data: st.DataObject
) -> None:
    labels = data.draw(
        st.lists(st.text(min_size=1, max_size=20), min_size=len(prices), max_size=len(prices))
    )
    m = parse.parse_gamma_market(market(prices, labels, closed, uma))
    assert [o.index for o in m.outcomes] == list(range(len(prices)))
    assert [o.label for o in m.outcomes] == labels
    assert [o.price for o in m.outcomes] == [Decimal(p) for p in prices]
    assert all(o.token_id for o in m.outcomes)
    if not closed:
        assert m.status is MarketStatus.OPEN
    if m.resolution is not None and m.resolution.payouts is not None:
        assert len(m.resolution.payouts) == len(prices)
    if (
        m.status is MarketStatus.RESOLVED
        and m.resolution
        and m.resolution.winning_outcome is not None
    ):
        assert m.outcomes[m.resolution.winning_outcome].price == 1


@given(
    st.lists(
        st.tuples(price_text, st.decimals(min_value=0, max_value=10**6, places=2)), max_size=30
    )
)
def test_books_keep_every_level_best_first(levels: list[tuple[str, Decimal]]) -> None:
    body = {
        "asset_id": "t",
        "timestamp": "1786385407185",
        "bids": [{"price": p, "size": str(s)} for p, s in levels],
        "asks": [{"price": p, "size": str(s)} for p, s in reversed(levels)],
    }
    book = parse.parse_book(body, "m", 0)
    assert len(book.bids) == len(levels) == len(book.asks)
    assert [b.price for b in book.bids] == sorted((b.price for b in book.bids), reverse=True)
    assert [a.price for a in book.asks] == sorted(a.price for a in book.asks)
    if levels:
        assert book.best_bid == max(Decimal(p) for p, _ in levels)
        assert book.best_ask == min(Decimal(p) for p, _ in levels)
