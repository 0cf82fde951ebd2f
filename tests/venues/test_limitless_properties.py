"""Property tests for the Limitless normalizers: percent and raw units scale exactly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from predhub.venues.limitless import parse

FIXTURES = Path(__file__).parent.parent / "fixtures" / "limitless"
CLOB: dict[str, Any] = json.loads((FIXTURES / "ccxt_comment_market_clob_single.json").read_text())
GROUP: dict[str, Any] = json.loads((FIXTURES / "constructed_group_market.json").read_text())

fractions = st.builds(
    lambda units, places: Decimal(units).scaleb(-places),
    st.integers(min_value=0, max_value=1000),
    st.integers(min_value=0, max_value=3),
).filter(lambda d: d <= 1)
spellings = st.sampled_from(["number", "string"])


def spell(value: Decimal, how: str) -> Any:
    return float(value) if how == "number" else f"{value:f}"


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(fractions, spellings)
def test_clob_prices_round_trip(yes: Decimal, how: str) -> None:
    no = 1 - yes
    market = parse.parse_market({**CLOB, "prices": [spell(yes, how), spell(no, how)]})
    assert [o.price for o in market.outcomes] == [yes, no]


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(fractions, spellings)
def test_amm_percent_prices_scale_exactly(yes: Decimal, how: str) -> None:
    percent = yes * 100
    item = {**CLOB, "tradeType": "amm", "prices": [spell(percent, how), spell(100 - percent, how)]}
    market = parse.parse_market(item)
    assert [o.price for o in market.outcomes] == [yes, 1 - yes]


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(st.integers(min_value=0, max_value=10**15), st.sampled_from([6, "6", 18]))
def test_raw_volume_scales_by_collateral_decimals(raw: int, decimals: Any) -> None:
    item = {
        **CLOB,
        "volume": str(raw),
        "collateralToken": {**CLOB["collateralToken"], "decimals": decimals},
    }
    market = parse.parse_market(item)
    assert market.volume_total == Decimal(raw).scaleb(-int(decimals))


@settings(deadline=None)  # timing depends on machine load, not on the code
@given(st.lists(st.tuples(fractions, st.text(min_size=1, max_size=8)), min_size=1, max_size=6))
def test_no_group_member_loses_an_outcome(members: list[tuple[Decimal, str]]) -> None:
    template = GROUP["markets"][0]
    children = [
        {
            **template,
            "slug": f"member-{i}",
            "title": title,
            "prices": [float(p), float(1 - p)],
            "tokens": {"yes": f"{i}1", "no": f"{i}2"},
        }
        for i, (p, title) in enumerate(members)
    ]
    events, markets, errors = parse.parse_market_body({**GROUP, "markets": children})
    assert errors == [] and len(events) == 1
    assert len(markets) == len(members)
    for i, market in enumerate(markets):
        assert [(o.index, o.token_id) for o in market.outcomes] == [(0, f"{i}1"), (1, f"{i}2")]
        assert market.event_native_id == GROUP["slug"]
