"""Planted arbitrages: cross-listed pairs and exclusive sets with known books and known answers.

With `SimConfig.plant_arbitrage` the world gets, on the first two venues, a
few propositions listed on both with books built so that buying the covering
legs pays after fees up to a known size, traps whose prices show an edge that
the fees or the depth take away, and mutually exclusive sets on the first
venue whose YES asks sum below and above one. Their markets never trade (their
books stay as planted) and close weeks after the start. Their fees are the
venue's own (the first venue's markets carry a 0.07 fee schedule), and the
truth works out each answer by trying every whole size with those fees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from predhub.gold.opportunities import Leg, brute_force_size
from predhub.sim.names import ASSETS, EventSpec, MarketSpec
from predhub.sim.plugins import Proposition, plugin, plugins
from predhub.venues.descriptor import descriptor

if TYPE_CHECKING:
    from datetime import datetime

    from predhub.sim.generate import _Builder
    from predhub.sim.world import SimMarket, World

DAY = 86_400.0
# the fee fields a planted market's listing carries (a schedule at the crypto rate)
FEE_SCHEDULE = {"exponent": 1, "rate": 0.07, "takerOnly": True, "rebateRate": 0.2}

Book = tuple[list[tuple[float, float]], list[tuple[float, float]]]  # YES (bids, asks), best first


@dataclass(frozen=True, slots=True)
class PlantedPair:
    name: str
    relation: str  # of the second market to the first ("same" or "inverse")
    book_a: Book
    book_b: Book
    trap: str = ""  # why no opportunity should be reported ("" when one should)


@dataclass(frozen=True, slots=True)
class PlantedSet:
    name: str
    books: tuple[Book, ...]
    trap: str = ""


PAIRS = (
    PlantedPair(
        "same question, edge up to 320 contracts",
        "same",
        ([(0.38, 200.0), (0.36, 300.0)], [(0.40, 100.0), (0.42, 150.0), (0.47, 500.0)]),
        ([(0.55, 120.0), (0.53, 200.0), (0.50, 400.0)], [(0.57, 300.0), (0.60, 300.0)]),
    ),
    PlantedPair(
        "inverse wording, YES on both up to 130 contracts",
        "inverse",
        ([(0.28, 100.0), (0.26, 200.0)], [(0.30, 50.0), (0.33, 80.0), (0.40, 300.0)]),
        ([(0.58, 100.0), (0.55, 200.0)], [(0.60, 70.0), (0.62, 100.0), (0.70, 300.0)]),
    ),
    PlantedPair(
        "fee trap: 0.49 + 0.50 before fees",
        "same",
        ([(0.47, 500.0)], [(0.49, 500.0), (0.52, 500.0)]),
        ([(0.50, 500.0)], [(0.53, 500.0)]),
        trap="fees",
    ),
    PlantedPair(
        "depth trap: half a contract at 0.30",
        "same",
        ([(0.28, 100.0)], [(0.30, 0.5), (0.80, 1000.0)]),
        ([(0.55, 1000.0)], [(0.57, 100.0)]),
        trap="depth",
    ),
)

SETS = (
    PlantedSet(
        "exclusive set, YES asks sum 0.91",
        (
            ([(0.26, 100.0)], [(0.28, 50.0), (0.45, 50.0)]),
            ([(0.28, 100.0)], [(0.30, 80.0)]),
            ([(0.31, 100.0)], [(0.33, 40.0), (0.50, 10.0)]),
        ),
    ),
    PlantedSet(
        "exclusive set, YES asks sum 1.05",
        (
            ([(0.34, 100.0)], [(0.36, 100.0)]),
            ([(0.33, 100.0)], [(0.35, 100.0)]),
            ([(0.32, 100.0)], [(0.34, 100.0)]),
        ),
        trap="sum above one",
    ),
)


def _venues() -> tuple[str, str]:
    first, second = plugins()[:2]
    return first.name, second.name


def _plant(m: SimMarket, book: Book) -> None:
    m.extra["book"] = {"bids": book[0], "asks": book[1]}
    m.extra["fee_schedule"] = FEE_SCHEDULE
    m.rate = 0.0  # never trades: the book stays as planted
    m.price = round((book[0][0][0] + book[1][0][0]) / 2, 6)
    m.prev_price = m.price


def plant(b: _Builder) -> None:
    """Add the planted pairs and sets to a world being populated."""
    from predhub.sim.generate import proposition_key

    world = b.w
    a_venue, b_venue = _venues()
    close = world.start + 45 * DAY
    for i, pair in enumerate(PAIRS):
        name, sym, base = ASSETS[i % len(ASSETS)]
        subject = (name, sym, round(base * (1.5 + 0.1 * i), 0))
        for venue, book, inverted in (
            (a_venue, pair.book_a, False),
            (b_venue, pair.book_b, pair.relation == "inverse"),
        ):
            prop = Proposition(
                "below" if inverted else "above", name, sym, value=subject[2], close=close
            )
            q = plugin(venue).wording(prop)
            key, key_inverted = proposition_key(prop)
            spec = EventSpec("planted", "Crypto", q, False, [MarketSpec(q, "", subject[2], key)])
            spec.series = f"KX{sym}PLANT"
            ev = b.add(venue, spec, "active", [0.5])
            m = ev.markets[0]
            m.close_at, m.resolve_at = close, close + 900
            m.key, m.key_inverted = key, key_inverted  # the matcher's truth lists the pair
            _plant(m, book)
            m.extra["planted"] = f"pair:{i}:{'a' if venue == a_venue else 'b'}"
    for j, planted in enumerate(SETS):
        title = f"Which asset leads the planted race {j + 1}?"
        labels = [ASSETS[k % len(ASSETS)][0] for k in range(len(planted.books))]
        spec = EventSpec(
            "planted",
            "Crypto",
            title,
            True,
            [MarketSpec(f"Will {label} lead the planted race {j + 1}?", label) for label in labels],
        )
        ev = b.add(a_venue, spec, "active", [0.3] * len(labels))
        for k, (m, book) in enumerate(zip(ev.markets, planted.books, strict=True)):
            m.close_at, m.resolve_at = close, close + 900
            _plant(m, book)
            m.extra["planted"] = f"set:{j}:{k}"


def planted_book(m: SimMarket) -> Book | None:
    """The YES book of a planted market (None for every other market)."""
    book = m.extra.get("book")
    if not book:
        return None
    return list(book["bids"]), list(book["asks"])


# --- the truth --------------------------------------------------------------------


def _legs(ms: list[SimMarket], sides: list[str], at: datetime) -> list[Leg]:
    legs = []
    for m, side in zip(ms, sides, strict=True):
        bids, asks = planted_book(m) or ([], [])
        if side == "no":  # the NO asks mirror the YES bids
            asks = [(round(1 - p, 6), s) for p, s in bids]
        fees = descriptor(m.venue).fees_for({"feesEnabled": True, "feeSchedule": FEE_SCHEDULE})
        legs.append(
            Leg(m.venue, m.idx, 0 if side == "yes" else 1, side, side, tuple(asks), fees, at)
        )
    return legs


def _found(legs: list[Leg], payout: float) -> dict[str, Any] | None:
    best = brute_force_size(legs, payout)
    if best is None:
        return None
    return {"size": best.size, "profit": round(best.profit, 6), "edge": round(best.edge, 6)}


def _ref(m: SimMarket) -> dict[str, Any]:
    return {"venue": m.venue, "market": m.native_id, "question": m.question}


def truth(world: World) -> dict[str, Any]:
    """Every planted pair and set, with the opportunity the hub should report (or none)."""
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(world.now, UTC)
    by_tag = {m.extra["planted"]: m for m in world.markets if "planted" in m.extra}
    pairs = []
    for i, pair in enumerate(PAIRS):
        a, b = by_tag.get(f"pair:{i}:a"), by_tag.get(f"pair:{i}:b")
        if a is None or b is None:
            continue
        sides = (
            (("yes", "no"), ("no", "yes"))
            if pair.relation == "same"
            else (
                ("yes", "yes"),
                ("no", "no"),
            )
        )
        found = []
        for side_a, side_b in sides:
            answer = _found(_legs([a, b], [side_a, side_b], at), 1.0)
            if answer is not None:
                found.append({"sides": [side_a, side_b], **answer})
        pairs.append(
            {
                "name": pair.name,
                "relation": pair.relation,
                "trap": pair.trap or None,
                "a": _ref(a),
                "b": _ref(b),
                "open": a.is_open and b.is_open,
                "arbitrage": found,
            }
        )
    sets = []
    for j, planted in enumerate(SETS):
        ms = [by_tag[f"set:{j}:{k}"] for k in range(len(planted.books)) if f"set:{j}:{k}" in by_tag]
        if len(ms) != len(planted.books):
            continue
        found = []
        for side, payout in (("yes", 1.0), ("no", float(len(ms) - 1))):
            answer = _found(_legs(ms, [side] * len(ms), at), payout)
            if answer is not None:
                found.append({"side": side, **answer})
        sets.append(
            {
                "name": planted.name,
                "trap": planted.trap or None,
                "event": ms[0].event.native_id,
                "venue": ms[0].venue,
                "markets": [_ref(m) for m in ms],
                "yes_ask_sum": round(
                    sum((planted_book(m) or ([], [(0.0, 0.0)]))[1][0][0] for m in ms), 6
                ),
                "arbitrage": found,
            }
        )
    return {"pairs": pairs, "sets": sets}
