"""Reading terms and deciding relations: the cases the matcher must get right."""

from __future__ import annotations

from datetime import date

import pytest

from predhub.match.relate import relate
from predhub.match.terms import MarketText, Threshold, Window, extract

END = date(2025, 12, 31)


def rel(a: str, b: str, *, oa: str | None = None, ob: str | None = None) -> str | None:
    r = relate(extract(MarketText(a, oa, end_date=END)), extract(MarketText(b, ob, end_date=END)))
    return r.relation if r else None


def test_thresholds_and_their_direction_are_read() -> None:
    t = extract(MarketText("Will Bitcoin be above $100k on Dec 31?", end_date=END))
    assert t.thresholds == (Threshold(">", 100_000.0, "$"),)
    assert t.window == Window("on", date(2025, 12, 31), date(2025, 12, 31))
    t = extract(MarketText("Will CPI be 4.5% or more in 2025?", end_date=END))
    assert t.thresholds == (Threshold(">=", 4.5, "%"),)
    assert t.window == Window("by", None, date(2025, 12, 31))


def test_a_band_closes_its_upper_gap() -> None:
    t = extract(MarketText("Ethereum price on Jun 12?", "$1,010 to 1,049.99", end_date=END))
    assert t.band == (1010.0, 1050.0, "$")


def test_same_threshold_same_day_is_same() -> None:
    assert rel("Will Bitcoin be above $100k on Dec 31?", "BTC above 100,000 on Dec 31, 2025?") == (
        "same"
    )


def test_a_higher_threshold_is_not_the_same_but_implies_the_lower() -> None:
    assert rel(
        "Will Bitcoin be above $110k on Dec 31?", "Will Bitcoin be above $100k on Dec 31?"
    ) == ("subset")
    assert rel(
        "Will Bitcoin be above $100k on Dec 31?", "Will Bitcoin be above $110k on Dec 31?"
    ) == ("superset")


def test_by_a_date_is_not_on_the_date() -> None:
    assert rel(
        "Will Bitcoin hit $100k by Dec 31?", "Will Bitcoin be above $100k on Dec 31?"
    ) not in (
        "same",
        "inverse",
    )


def test_strict_and_inclusive_thresholds_differ() -> None:
    assert rel("Will SOL be above $60 on Jun 12?", "SOL price on Jun 12?", ob=">= 60") not in (
        "same",
        "inverse",
    )


def test_a_complementary_threshold_is_the_inverse() -> None:
    a = "Will the unemployment rate be above 3.9% in February?"
    b = "Will the unemployment rate for February be less than or equal to 3.9%?"
    assert rel(a, b) == "inverse"


def test_a_game_from_the_other_side_is_only_the_inverse() -> None:
    assert rel(
        "Thunder vs. Pistons", "Oklahoma City at Detroit Winner?", oa="Thunder", ob="Detroit"
    ) == ("inverse")
    assert rel(
        "Thunder vs. Pistons", "Oklahoma City at Detroit Winner?", oa="Thunder", ob="Oklahoma City"
    ) == ("same")


def test_a_game_that_can_be_drawn_has_no_inverse() -> None:
    r = rel("Will Real Madrid win on 2026-02-25?", "Real Madrid vs Benfica Winner?", ob="Benfica")
    assert r not in ("same", "inverse")


def test_a_neg_risk_outcome_matches_a_single_market() -> None:
    assert rel(
        "Who will win the Nobel Peace Prize?",
        "Will Donald Trump win Nobel Peace Prize in 2025?",
        oa="Donald Trump",
    ) == ("same")


def test_different_candidates_do_not_match() -> None:
    a = "Will Gustavo Jalkh win the 2025 Ecuadorian Presidential Election?"
    b = "Will Carlos Rabascall win the 2025 Ecuadorian presidential election?"
    assert rel(a, b) not in ("same", "inverse")


def test_winning_against_losing_is_the_inverse() -> None:
    a = "Will Alex Okafor win the 2025 Norland election?"
    assert rel(a, "Norland election 2025: Alex Okafor does not win?") == "inverse"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "Fed decision in January?",
            "Will the Federal Reserve cut rates by >25bps at their January 2026 meeting?",
        ),
        (
            "Will the Fed hike rates by 25bps at the March 2025 meeting?",
            "Fed increases rates by 25+ bps after March 2025 meeting?",
        ),
    ],
)
def test_different_fed_moves_are_not_the_same(a: str, b: str) -> None:
    ra = relate(
        extract(MarketText(a, "25 bps decrease", end_date=date(2026, 1, 28))),
        extract(MarketText(b, end_date=date(2026, 1, 28))),
    )
    assert ra is None or ra.relation not in ("same", "inverse")


def test_notes_name_what_a_person_should_check() -> None:
    r = relate(
        extract(
            MarketText(
                "Will Sean Baker win Best Director at the 2025 Oscars?", end_date=date(2025, 3, 2)
            )
        ),
        extract(
            MarketText(
                "Will Sean Baker win Best Director at the Oscars?", end_date=date(2025, 12, 31)
            )
        ),
    )
    assert r is not None and r.relation == "same"
    assert any("close dates differ" in n for n in r.notes)
    assert 0.0 <= r.confidence <= 1.0
