"""Arbitrage arithmetic: walking order books, fees for a size, the best size of a covering set.

Pure functions, no I/O. A *covering set* is a list of legs (buy one outcome
of one market at its asks) that together pay at least `payout` dollars per
contract in every state of the world: YES on one venue and NO on a market
that pays exactly when the first does not, YES on every market of a
mutually exclusive set, and so on. Buying `n` contracts of every leg costs
each leg's book walk plus its venue's fee for those fills; the opportunity is
the size that makes the most money and what it makes.

Contracts are whole (some venues trade only whole contracts; a whole-contract
figure is one every venue can fill). Each level a leg's order takes is a fill of its own
and its fee is rounded on its own, as venues charge per trade; a venue's
minimum fee applies to the leg's order as a whole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from predhub.venues.descriptor import FeeModel

Level = tuple[float, float]  # (price, size), asks best (lowest) first
EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg: buy `outcome` of a market at its asks."""

    venue: str
    market_id: int
    outcome_id: int
    outcome: str  # the outcome's label
    side: str  # "yes" or "no": which side of the proposition the leg holds
    asks: tuple[Level, ...]
    fees: FeeModel
    as_of: datetime

    @property
    def depth(self) -> float:
        return sum(s for _, s in self.asks)


@dataclass(frozen=True, slots=True)
class Filled:
    """What buying `size` contracts of one leg takes: the fills, their cost and fee."""

    fills: tuple[Level, ...]
    notional: float
    fee: float

    @property
    def worst_price(self) -> float:
        return self.fills[-1][0] if self.fills else 0.0

    @property
    def average_price(self) -> float:
        size = sum(s for _, s in self.fills)
        return self.notional / size if size else 0.0


@dataclass(frozen=True, slots=True)
class Sized:
    """The best size of a covering set and what it makes there."""

    size: int
    payout: float  # dollars the set pays at least, at this size
    cost: float  # notional plus fees
    fees: float
    legs: tuple[Filled, ...] = field(default_factory=tuple)

    @property
    def profit(self) -> float:
        return self.payout - self.cost

    @property
    def edge(self) -> float:
        """Profit per contract after fees."""
        return self.profit / self.size if self.size else 0.0


def walk(asks: Sequence[Level], size: float) -> tuple[Level, ...] | None:
    """The fills that buy `size` contracts from the best ask up; None if the book is too thin."""
    if size <= 0:
        return ()
    left = size
    fills: list[Level] = []
    for price, available in asks:
        if available <= 0:
            continue
        take = min(left, available)
        fills.append((price, take))
        left -= take
        if left <= EPS:
            return tuple(fills)
    return None


def fill(leg: Leg, size: float) -> Filled | None:
    """Buying `size` contracts of `leg`: fills, notional and the venue's fee; None if too thin."""
    fills = walk(leg.asks, size)
    if fills is None:
        return None
    notional = sum(p * s for p, s in fills)
    fee = leg.fees.order_fee((s, p) for p, s in fills)
    return Filled(fills, round(notional, 10), fee)


def sized(legs: Sequence[Leg], size: int, payout: float) -> Sized | None:
    """The whole set bought at `size` contracts a leg: exact cost, fees and payout."""
    filled: list[Filled] = []
    for leg in legs:
        f = fill(leg, size)
        if f is None:
            return None
        filled.append(f)
    fees = sum(f.fee for f in filled)
    cost = sum(f.notional for f in filled) + fees
    return Sized(size, round(payout * size, 10), round(cost, 10), round(fees, 10), tuple(filled))


def _breakpoints(legs: Sequence[Leg], cap: float) -> list[float]:
    """Sizes at which some leg moves to its next ask level, up to `cap`."""
    points: set[float] = {cap}
    for leg in legs:
        total = 0.0
        for _, s in leg.asks:
            total += max(s, 0.0)
            if total < cap - EPS:
                points.add(total)
    return sorted(p for p in points if p > EPS)


def _price_at(leg: Leg, at: float) -> float:
    """The ask that the contract just past `at` contracts is bought at."""
    total = 0.0
    for price, s in leg.asks:
        total += max(s, 0.0)
        if at < total - EPS:
            return price
    return leg.asks[-1][0]


def best_size(legs: Sequence[Leg], payout: float = 1.0) -> Sized | None:
    """The largest whole size up to which every further contract still earns, if it earns.

    Between two breakpoints (sizes where some leg reaches its next ask level)
    each contract costs the same: the legs' asks plus their per-contract fees.
    The set is bought up to the end of the last stretch whose contracts still
    pay more than they cost (marginal cost only rises as the walk goes up the
    books); the exact figure at that whole size (fees rounded per fill, minimum
    fees) must then still be a profit, else there is no opportunity.
    """
    if not legs or any(not leg.asks for leg in legs):
        return None
    cap = min(leg.depth for leg in legs)
    if cap < 1:
        return None
    end = 0.0
    start = 0.0
    for point in _breakpoints(legs, cap):
        marginal = sum(
            _price_at(leg, start) + leg.fees.per_contract(_price_at(leg, start)) for leg in legs
        )
        if payout - marginal <= EPS:
            break
        end = point
        start = point
    size = math.floor(end + EPS)
    # a stretch's fee rounding can leave the last whole contract just under water
    while size >= 1:
        found = sized(legs, size, payout)
        if found is not None and found.profit > EPS:
            best = found
            # one more contract past the stretch is never better, one less may be
            previous = sized(legs, size - 1, payout) if size > 1 else None
            if previous is not None and previous.profit > best.profit + EPS:
                size -= 1
                continue
            return best
        size -= 1
    return None


def brute_force_size(legs: Sequence[Leg], payout: float = 1.0) -> Sized | None:
    """The same answer by trying every whole size (tests and the simulator's truth)."""
    if not legs or any(not leg.asks for leg in legs):
        return None
    cap = math.floor(min(leg.depth for leg in legs) + EPS)
    best: Sized | None = None
    for n in range(1, cap + 1):
        found = sized(legs, n, payout)
        if (
            found is not None
            and found.profit > EPS
            and (best is None or found.profit >= best.profit - EPS)
        ):
            best = found
    return best


# --- which legs cover which relation --------------------------------------------------

# relation of a to b -> the (side of a, side of b) sets that pay at least 1 in every state
PAIR_SIDES: dict[str, tuple[tuple[str, str], ...]] = {
    "same": (("yes", "no"), ("no", "yes")),
    "inverse": (("yes", "yes"), ("no", "no")),
    "subset": (("no", "yes"),),  # a's YES implies b's YES: a NO + b YES never pays 0
    "superset": (("yes", "no"),),  # b's YES implies a's YES
}
