"""Book walking, fees for a size and the best size of a covering set, with worked examples."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from predhub.gold.opportunities import Leg, best_size, brute_force_size, fill, sized, walk
from predhub.venues.descriptor import NO_FEES, FeeModel, descriptor

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KALSHI = descriptor("kalshi").fees_for({})
POLY_CRYPTO = descriptor("polymarket").fees_for({"feeSchedule": {"rate": 0.07, "exponent": 1}})


def leg(asks: list[tuple[float, float]], fees: FeeModel = NO_FEES, side: str = "yes") -> Leg:
    return Leg("v", 1, 1, "Yes", side, tuple(asks), fees, NOW)


def test_walk_takes_levels_best_first_and_refuses_a_thin_book() -> None:
    asks = [(0.40, 100.0), (0.42, 150.0), (0.47, 500.0)]
    assert walk(asks, 120) == ((0.40, 100.0), (0.42, 20.0))
    assert walk(asks, 750) == ((0.40, 100.0), (0.42, 150.0), (0.47, 500.0))
    assert walk(asks, 751) is None
    assert walk(asks, 0) == ()


def test_a_leg_pays_each_fill_its_own_rounded_fee() -> None:
    # 100 @ 0.40: 0.07 × 100 × 0.24 = 1.68; 20 @ 0.42: 0.07 × 20 × 0.2436 = 0.34104 -> 0.3411
    filled = fill(leg([(0.40, 100.0), (0.42, 150.0)], KALSHI), 120)
    assert filled is not None
    assert filled.notional == pytest.approx(48.4)
    assert filled.fee == pytest.approx(1.68 + 0.3411)
    assert filled.worst_price == 0.42


def test_opinion_minimum_applies_to_the_order_not_each_fill() -> None:
    opinion = descriptor("opinion").fees
    # 2 fills of 5 @ 0.5: 0.04 × 5 × 0.25 = 0.05 each; the order pays the $0.25 minimum once
    assert opinion.order_fee([(5, 0.5), (5, 0.5)]) == pytest.approx(0.25)
    assert opinion.order_fee([(1000, 0.5), (1000, 0.5)]) == pytest.approx(20.0)
    assert opinion.order_fee([]) == 0


def test_same_question_bought_both_ways_up_to_where_the_edge_ends() -> None:
    """YES at 0.40/0.42/0.47 against NO at 0.45/0.47/0.50, both charged 0.07 p(1 − p)."""
    yes = leg([(0.40, 100.0), (0.42, 150.0), (0.47, 500.0)], POLY_CRYPTO)
    no = leg([(0.45, 120.0), (0.47, 200.0), (0.50, 400.0)], KALSHI, "no")
    # marginal cost per stretch: 0-100: 0.40+0.0168+0.45+0.017325 = 0.884 (earns)
    # 100-120: 0.42+0.017052+0.45+0.017325 = 0.904 (earns); 120-250: 0.42+..+0.47+0.017437 = 0.925
    # 250-320: 0.47+0.017437+0.47+0.017437 = 0.975 (earns); 320+: 0.47+..+0.50+0.0175 = 1.005 (loses)
    found = best_size([yes, no])
    assert found is not None
    assert found.size == 320
    exact = sized([yes, no], 320, 1.0)
    assert exact is not None
    assert found.profit == pytest.approx(exact.profit)
    assert found.edge == pytest.approx(found.profit / 320)
    assert found.payout == 320


def test_fees_can_erase_an_edge_the_prices_show() -> None:
    """0.49 + 0.50 = 0.99 < 1, but each leg pays 0.07 × 0.25 ≈ 0.0175: no opportunity."""
    yes = leg([(0.49, 1000.0)], POLY_CRYPTO)
    no = leg([(0.50, 1000.0)], KALSHI, "no")
    assert best_size([yes, no]) is None
    assert best_size([leg([(0.49, 1000.0)]), leg([(0.50, 1000.0)], side="no")]) is not None


def test_depth_can_erase_an_edge_the_best_prices_show() -> None:
    """Half a contract at a great price, then asks that lose: no whole contract earns."""
    yes = leg([(0.30, 0.5), (0.60, 1000.0)], KALSHI)
    no = leg([(0.45, 1000.0)], KALSHI, "no")
    assert best_size([yes, no]) is None


def test_mutually_exclusive_set_pays_once() -> None:
    legs = [leg([(0.30, 50.0)]), leg([(0.30, 80.0)]), leg([(0.35, 40.0), (0.50, 10.0)])]
    found = best_size(legs)
    assert found is not None and found.size == 40
    assert found.profit == pytest.approx(40 * (1 - 0.95))


@pytest.mark.parametrize("seed", range(40))
def test_best_size_agrees_with_trying_every_size(seed: int) -> None:
    rng = random.Random(seed)

    def book(start: float) -> list[tuple[float, float]]:
        p, levels = start, []
        for _ in range(rng.randint(1, 5)):
            levels.append((round(p, 2), float(rng.randint(1, 60))))
            p += rng.choice((0.01, 0.02, 0.03))
            if p >= 0.99:
                break
        return levels

    models = [KALSHI, POLY_CRYPTO, NO_FEES, descriptor("limitless").fees]
    a = rng.uniform(0.2, 0.6)
    legs = [
        leg(book(a), rng.choice(models)),
        leg(book(rng.uniform(0.25, 1.0 - a)), rng.choice(models), "no"),
    ]
    fast, slow = best_size(legs), brute_force_size(legs)
    assert (fast is None) == (slow is None)
    if fast is not None and slow is not None:
        assert abs(fast.size - slow.size) <= 1
        assert fast.profit == pytest.approx(slow.profit, abs=0.01)
