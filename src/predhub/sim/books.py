"""Order books consistent with a market's current quote.

Depth is drawn from a random stream seeded by the market and its trade count,
so a book is stable between trades and changes when the market trades; its
best levels always equal the market's quoted bid and ask. The best levels'
sizes are drawn first, so listings can show them without building the book.
"""

from __future__ import annotations

import random

from predhub.sim.world import SimMarket

Level = tuple[float, float]


def _rng(m: SimMarket, trades_count: int, seed: int) -> random.Random:
    return random.Random(seed * 1_000_003 + m.idx * 7_919 + trades_count)


def top_sizes(m: SimMarket, trades_count: int, seed: int) -> tuple[float, float]:
    """Sizes at the best YES bid and ask (0 when the market is not trading)."""
    if not m.is_open:
        return 0.0, 0.0
    planted = m.extra.get("book")
    if planted:
        return planted["bids"][0][1], planted["asks"][0][1]
    rng = _rng(m, trades_count, seed)
    return round(rng.lognormvariate(5.0, 1.3), 2), round(rng.lognormvariate(5.0, 1.3), 2)


def yes_book(m: SimMarket, trades_count: int, seed: int) -> tuple[list[Level], list[Level]]:
    """(bids best first, asks best first) of the YES token; empty when not trading."""
    if not m.is_open:
        return [], []
    planted = m.extra.get("book")
    if planted:  # a planted book (predhub.sim.arbitrage) stays as planted
        return [tuple(x) for x in planted["bids"]], [tuple(x) for x in planted["asks"]]
    rng = _rng(m, trades_count, seed)
    bid, ask = m.quote(0)
    bids: list[Level] = [(bid, round(rng.lognormvariate(5.0, 1.3), 2))]
    asks: list[Level] = [(ask, round(rng.lognormvariate(5.0, 1.3), 2))]
    t = m.tick
    depth = rng.randint(4, 12)
    for levels, sign in ((bids, -1), (asks, 1)):
        p = levels[0][0]
        for _ in range(depth - 1):
            p += sign * t * rng.choice((1, 1, 1, 2, 3))
            if p < t - 1e-9 or p > 1 - t + 1e-9:
                break
            levels.append((round(p, 6), round(rng.lognormvariate(5.0, 1.3), 2)))
    return bids, asks


def outcome_book(
    m: SimMarket, outcome: int, trades_count: int, seed: int
) -> tuple[list[Level], list[Level]]:
    """The book of one outcome token; the NO book mirrors the YES book."""
    bids, asks = yes_book(m, trades_count, seed)
    if outcome == 0:
        return bids, asks
    return [(round(1 - p, 6), s) for p, s in asks], [(round(1 - p, 6), s) for p, s in bids]
