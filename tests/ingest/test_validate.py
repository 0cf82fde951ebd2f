"""The market check's fast path agrees with the one-by-one checks it skips."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from ingest.factories import market
from predhub.ingest.validate import check_market, market_problem
from predhub.models import Market, Outcome

_GOOD = market(1)


def _variants() -> list[tuple[str, Market]]:
    nan, big, neg = Decimal("NaN"), Decimal("1.5"), Decimal("-0.01")
    o0, o1 = _GOOD.outcomes
    out: list[tuple[str, Market]] = [
        ("good", _GOOD),
        ("no outcomes", replace(_GOOD, outcomes=[])),
        ("edges", replace(_GOOD, best_bid=Decimal(0), best_ask=Decimal(1), last_price=None)),
        ("described", replace(_GOOD, description="")),
        ("no native id", replace(_GOOD, native_id="")),
        ("NUL native id", replace(_GOOD, native_id="m\x001")),
        ("no question", replace(_GOOD, question="")),
        ("NUL question", replace(_GOOD, question="Will\x00?")),
        ("NUL description", replace(_GOOD, description="a\x00b")),
        ("bad status", replace(_GOOD, status="pending")),  # type: ignore[arg-type]
        ("duplicate index", replace(_GOOD, outcomes=[o0, replace(o1, index=o0.index)])),
        ("no label", replace(_GOOD, outcomes=[o0, replace(o1, label="")])),
        ("two problems", replace(_GOOD, question="", best_bid=big)),
    ]
    for value in (nan, big, neg, Decimal("Infinity")):
        out.append(
            (f"outcome price {value}", replace(_GOOD, outcomes=[o0, Outcome(1, "No", price=value)]))
        )
        for name in ("best_bid", "best_ask", "last_price"):
            out.append((f"{name} {value}", replace(_GOOD, **{name: value})))
    return out


@pytest.mark.parametrize(("name", "m"), _variants(), ids=[n for n, _ in _variants()])
def test_check_market_reports_what_the_full_checks_report(name: str, m: Market) -> None:
    expected = market_problem(m)
    assert check_market(m) == expected
    assert (expected is None) == (name in ("good", "no outcomes", "edges", "described"))


def test_the_first_problem_is_reported() -> None:
    assert check_market(replace(_GOOD, question="", best_bid=Decimal(2))) == "question is missing"
    assert check_market(replace(_GOOD, last_price=Decimal("NaN"))) == (
        "last_price NaN is not a probability in [0, 1]"
    )
