"""The living market: every simulated market, its prices, trades and lifecycle.

The world is built once from a seed and then moved forward in simulated time
by `advance_to`. Trades arrive as one merged Poisson process (the sum of each
market's rate, rates heavy-tailed across markets); each trade nudges its
market's YES price on a logit random walk, keeping the YES prices of one
neg-risk event summing to 1 and pulling cross-listed markets along. Markets
open, close and resolve at pre-drawn times. Events are processed strictly in
time order from one random stream, so the state after reaching time T depends
only on the seed and T, not on how often the world was stepped.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, TypeVar

from predhub.sim.config import SimConfig
from predhub.sim.names import (
    MULTI_KINDS,
    SINGLE_KINDS,
    EventSpec,
    hex_id,
    make_event,
    slugify,
    token_id,
)
from predhub.sim.plugins import sim_venues
from predhub.sim.trades import TradeStore

T = TypeVar("T")
DAY = 86_400.0
HOUR = 3_600.0
OPEN, CLOSED, RESOLVED, VOIDED, UPCOMING = "open", "closed", "resolved", "voided", "upcoming"
_OPEN_EV, _CLOSE_EV, _RESOLVE_EV = 0, 1, 2
ARB_START = 0.01  # chance, per trade of a twin, that a cross-listed price starts to stray
ARB_MEAN_SECONDS = 1_200.0


@dataclass(slots=True, eq=False)
class SimEvent:
    venue: str
    native_id: str
    title: str
    slug: str
    category: str
    exclusive: bool
    kind: str
    series: str = ""
    created_at: float = 0.0
    markets: list[SimMarket] = field(default_factory=list)
    winner: int | None = None  # index into markets once decided
    decided: bool = False
    void: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class LinkMember:
    group: int
    inverted: bool  # this market's YES is the group's NO
    offset: float = 0.0  # current deviation from the shared price (arbitrage episodes)
    offset_until: float = 0.0


@dataclass(slots=True, eq=False)
class SimMarket:
    idx: int
    venue: str
    native_id: str
    event: SimEvent
    question: str
    label: str
    slug: str
    condition_id: str
    question_id: str
    token_ids: tuple[str, str]
    created_at: float
    open_at: float
    close_at: float
    resolve_at: float
    price: float  # YES probability
    tick: float
    half_spread: float
    rate: float  # trades per simulated second while open
    base_volume: float
    strike: float | None = None
    outcomes: tuple[str, str] = ("Yes", "No")
    status: str = OPEN
    winner: int | None = None  # winning outcome index once resolved
    updated_at: float = 0.0
    resolved_at: float | None = None
    volume: float = 0.0  # USD notional traded in the simulation
    shares: float = 0.0  # contracts traded in the simulation
    vol24: float = 0.0
    vol24_at: float = 0.0
    last_price: float | None = None  # YES-equivalent price of the last trade
    last_side: str = "BUY"
    prev_price: float = 0.5
    void_planned: bool = False
    link: LinkMember | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    key: tuple[object, ...] | None = None  # the proposition (see `MarketSpec.key`)
    key_inverted: bool = False  # YES pays when the key's proposition does not hold

    @property
    def listed(self) -> bool:
        return self.status != UPCOMING

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def outcome_price(self, outcome: int) -> float:
        return self.price if outcome == 0 else 1.0 - self.price

    def quote(self, outcome: int = 0) -> tuple[float, float]:
        """(best bid, best ask) for an outcome's token, on the market's tick grid."""
        if not self.is_open:
            p = self.outcome_price(outcome)
            return (p, p)
        planted = self.extra.get("book")
        if planted:  # a planted book (predhub.sim.arbitrage) sets the quote
            bid, ask = planted["bids"][0][0], planted["asks"][0][0]
            return (bid, ask) if outcome == 0 else (round(1 - ask, 6), round(1 - bid, 6))
        t = self.tick
        p = self.price
        bid = max(t, math.floor((p - self.half_spread) / t + 1e-9) * t)
        ask = min(1 - t, math.ceil((p + self.half_spread) / t - 1e-9) * t)
        if ask <= bid:
            ask = min(1 - t, bid + t)
            bid = ask - t
        bid, ask = round(bid, 6), round(ask, 6)
        if outcome == 0:
            return bid, ask
        return round(1 - ask, 6), round(1 - bid, 6)

    def volume24(self, now: float) -> float:
        return self.vol24 * math.exp(-(now - self.vol24_at) / DAY)

    def total_volume(self) -> float:
        return self.base_volume + self.volume


@dataclass(slots=True, eq=False)
class PlantedPair:
    """Two markets on different venues planted with a known relation (the matcher's truth).

    `relation` reads a against b: "same", "inverse", "subset" (a's YES implies b's),
    "superset", or "different" for a look-alike trap (`trap` names what differs).
    """

    a: SimMarket
    b: SimMarket
    relation: str
    trap: str = ""
    note: str = ""


@dataclass(slots=True)
class LinkGroup:
    """Markets on several venues that are (or only look like) one proposition."""

    gid: int
    relation: str  # "equivalent", "nested" (one implies the other) or "lookalike"
    shared_price: float
    members: list[SimMarket] = field(default_factory=list)
    note: str = ""


class World:
    """Every market of every venue, moved forward by `advance_to`."""

    def __init__(self, config: SimConfig, start: float) -> None:
        self.config = config
        self.seed = config.seed
        self.start = start
        self.now = start - config.history_hours * HOUR
        self.markets: list[SimMarket] = []
        self.events: list[SimEvent] = []
        self.by_venue: dict[str, list[SimMarket]] = {v: [] for v in sim_venues()}
        self.events_by_venue: dict[str, list[SimEvent]] = {v: [] for v in sim_venues()}
        self.index: dict[tuple[str, str], SimMarket] = {}
        self.event_index: dict[tuple[str, str], SimEvent] = {}
        self.token_index: dict[str, tuple[SimMarket, int]] = {}
        self.condition_index: dict[str, SimMarket] = {}
        self.links: list[LinkGroup] = []
        self.planted: list[PlantedPair] = []
        self.trades = TradeStore()
        self.version = 0  # bumps on every change; cheap cache key
        self._memo: dict[Any, Any] = {}
        self._memo_version = -1
        self._gen = random.Random(config.seed)
        self._rng = random.Random(config.seed * 7919 + 1)
        self._heap: list[tuple[float, int, int, int]] = []
        self._heap_seq = 0
        self._cum: list[float] = []
        self._total_rate = 0.0
        self._next_trade = math.inf
        self._group_results: dict[int, bool] = {}
        from predhub.sim.generate import populate

        populate(self)
        self._finish_setup()
        self.advance_to(start)

    # --- construction helpers (used by generate.populate) -----------------------
    def add_event(self, ev: SimEvent) -> SimEvent:
        self.events.append(ev)
        self.events_by_venue[ev.venue].append(ev)
        self.event_index[(ev.venue, ev.native_id)] = ev
        return ev

    def add_market(self, m: SimMarket) -> SimMarket:
        self.markets.append(m)
        self.by_venue[m.venue].append(m)
        self.index[(m.venue, m.native_id)] = m
        for i, tok in enumerate(m.token_ids):
            self.token_index[tok] = (m, i)
        self.condition_index[m.condition_id] = m
        m.event.markets.append(m)
        return m

    def _push(self, t: float, kind: int, idx: int) -> None:
        self._heap_seq += 1
        heapq.heappush(self._heap, (t, self._heap_seq, kind, idx))

    def _finish_setup(self) -> None:
        t0 = self.now
        for m in self.markets:
            m.updated_at = max(m.created_at, min(t0, m.open_at))
            if m.open_at > t0:
                m.status = UPCOMING
                self._push(m.open_at, _OPEN_EV, m.idx)
            if m.close_at > t0:
                self._push(m.close_at, _CLOSE_EV, m.idx)
            elif m.status != UPCOMING:
                m.status = CLOSED
                m.updated_at = m.close_at
            if m.resolve_at > t0:
                self._push(m.resolve_at, _RESOLVE_EV, m.idx)
            else:
                self._resolve(m, m.resolve_at)
        self._cum = list(accumulate(m.rate for m in self.markets))
        self._total_rate = self._cum[-1] if self._cum else 0.0
        self._draw_next_trade(t0)

    # --- time ---------------------------------------------------------------------
    def _draw_next_trade(self, t: float) -> None:
        if self._total_rate <= 0:
            self._next_trade = math.inf
            return
        self._next_trade = t + self._rng.expovariate(self._total_rate)

    def advance_to(self, t: float) -> int:
        """Process every trade and lifecycle change up to time t; returns how many."""
        done = 0
        heap = self._heap
        while True:
            t_lc = heap[0][0] if heap else math.inf
            t_ev = min(t_lc, self._next_trade)
            if t_ev > t:
                break
            if t_lc <= self._next_trade:
                _, _, kind, idx = heapq.heappop(heap)
                self._lifecycle(kind, self.markets[idx], t_lc)
            else:
                ts = self._next_trade
                r = self._rng.random() * self._total_rate
                m = self.markets[min(bisect_right(self._cum, r), len(self.markets) - 1)]
                if m.status == OPEN:
                    self._trade(m, ts)
                self._draw_next_trade(ts)
            done += 1
        if t > self.now:
            self.now = t
        if done:
            self.version += 1
        return done

    # --- lifecycle ----------------------------------------------------------------
    def _lifecycle(self, kind: int, m: SimMarket, t: float) -> None:
        if kind == _OPEN_EV:
            m.status = OPEN
            m.updated_at = t
        elif kind == _CLOSE_EV:
            if m.status == OPEN:
                m.status = CLOSED
                m.updated_at = t
        else:
            self._resolve(m, t)

    def _decide_event(self, ev: SimEvent, rng: random.Random) -> None:
        if ev.decided:
            return
        ev.decided = True
        ms = ev.markets
        if ev.exclusive:
            if ms and ms[0].void_planned:
                ev.void = True
                return
            weights = [max(x.price, 1e-6) for x in ms]
            ev.winner = rng.choices(range(len(ms)), weights=weights)[0]

    def _resolve(self, m: SimMarket, t: float) -> None:
        ev = m.event
        rng = self._rng
        if ev.exclusive:
            self._decide_event(ev, rng)
            if ev.void:
                m.winner = None
            else:
                m.winner = 0 if ev.markets.index(m) == ev.winner else 1
            void = ev.void
        else:
            void = m.void_planned
            if m.link is not None and not void:
                group = self.links[m.link.group]
                if group.relation == "equivalent":
                    # cross-listed twins settle the same way
                    yes = self._group_outcome(group, rng)
                    m.winner = (1 if yes else 0) if m.link.inverted else (0 if yes else 1)
                elif group.relation == "nested" and group.members[0].winner == 1:
                    m.winner = 1  # the looser strike missed, so the stricter one did too
                else:
                    m.winner = 0 if rng.random() < m.price else 1
            elif not void:
                m.winner = 0 if rng.random() < m.price else 1
        if void:
            m.status = VOIDED
            m.winner = None
            m.price = 0.5
        else:
            m.status = RESOLVED
            m.price = 1.0 if m.winner == 0 else 0.0
        m.resolved_at = t
        m.updated_at = t

    def _group_outcome(self, group: LinkGroup, rng: random.Random) -> bool:
        decided = self._group_results.get(group.gid)
        if decided is None:
            decided = rng.random() < group.shared_price
            self._group_results[group.gid] = decided
        return decided

    # --- trading ------------------------------------------------------------------
    def _trade(self, m: SimMarket, ts: float) -> None:
        rng = self._rng
        step = rng.gauss(0.0, 0.06)
        if rng.random() < 0.01:
            step *= 6  # news: a jump
        self._move(m, _sigmoid(_logit(m.price) + step))
        if m.link is not None:
            self._move_links(m, ts)
        outcome = 0 if rng.random() < 0.6 else 1
        side = "BUY" if (step >= 0) == (outcome == 0) else "SELL"
        if rng.random() < 0.2:
            side = "SELL" if side == "BUY" else "BUY"
        bid, ask = m.quote(outcome)
        price = ask if side == "BUY" else bid
        size = round(min(50_000.0, math.exp(rng.gauss(3.0, 1.4))), 2)
        self.trades.append(m.idx, int(ts * 1000), price, size, outcome, side)
        yes_price = price if outcome == 0 else 1.0 - price
        m.last_price = round(yes_price, 6)
        m.last_side = side
        notional = size * price
        m.volume += notional
        m.shares += size
        m.vol24 = m.volume24(ts) + notional
        m.vol24_at = ts
        m.updated_at = ts

    def _move(self, m: SimMarket, new_price: float) -> None:
        new_price = min(0.995, max(0.005, new_price))
        ev = m.event
        if ev.exclusive and len(ev.markets) > 1:
            others: list[SimMarket] = []
            rest = closed_mass = 0.0
            for x in ev.markets:
                if x is m:
                    continue
                if x.status == OPEN:
                    others.append(x)
                    rest += x.price
                else:
                    closed_mass += x.price
            budget = max(0.0, 1.0 - closed_mass)
            new_price = min(new_price, budget * 0.99) if others else new_price
            if others and rest > 0:
                scale = (budget - new_price) / rest
                for x in others:
                    x.price = min(0.995, max(0.0005, x.price * scale))
        m.price = new_price

    def _move_links(self, m: SimMarket, ts: float) -> None:
        link = m.link
        assert link is not None
        group = self.links[link.group]
        if group.relation != "equivalent":
            return
        rng = self._rng
        yes = m.price - link.offset
        group.shared_price = min(0.99, max(0.01, 1.0 - yes if link.inverted else yes))
        for other in group.members:
            ol = other.link
            if other is m or ol is None or not other.is_open:
                continue
            if ol.offset and ts >= ol.offset_until:
                ol.offset = 0.0  # the episode ends: prices agree again
            elif not ol.offset and rng.random() < ARB_START:
                # an arbitrage episode: this venue's price strays for a while
                ol.offset = rng.choice((-1, 1)) * rng.uniform(0.05, 0.1)
                ol.offset_until = ts + rng.expovariate(1 / ARB_MEAN_SECONDS)
            base = 1.0 - group.shared_price if ol.inverted else group.shared_price
            other.price = min(0.99, max(0.01, base + ol.offset))
            other.updated_at = ts

    # --- queries --------------------------------------------------------------------
    def memo(self, key: Any, make: Callable[[], T]) -> T:
        """`make()`, remembered until the world next changes (a big listing paged many times)."""
        if self._memo_version != self.version:
            self._memo.clear()
            self._memo_version = self.version
        if key not in self._memo:
            if len(self._memo) > 64:
                self._memo.clear()
            self._memo[key] = make()
        value: T = self._memo[key]
        return value

    def market(self, venue: str, native_id: str) -> SimMarket | None:
        m = self.index.get((venue, native_id))
        return m if m is not None and m.listed else None

    def listed(self, venue: str) -> list[SimMarket]:
        return [m for m in self.by_venue[venue] if m.listed]

    def close(self) -> None:
        self.trades.close()


def _logit(p: float) -> float:
    p = min(0.999, max(0.001, p))
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def build_events(
    rng: random.Random, n_markets: int, n_events: int, single_share: float
) -> list[int]:
    """Market counts per event: singles first, the rest spread over multi-market events."""
    if n_markets <= 0:
        return []
    n_events = max(1, min(n_events, n_markets))
    n_single = min(n_events, int(n_events * single_share))
    n_multi = n_events - n_single
    left = n_markets - n_single
    if n_multi == 0 or left < 2 * n_multi:
        n_multi = left // 2
        n_single = n_markets - 2 * n_multi if n_multi else n_markets
        left = n_markets - n_single
    sizes = [1] * n_single
    if n_multi:
        weights = [rng.uniform(0.5, 2.0) for _ in range(n_multi)]
        total_w = sum(weights)
        multi = [max(2, int(left * w / total_w)) for w in weights]
        diff = left - sum(multi)
        i = 0
        while diff != 0:
            j = i % n_multi
            if diff > 0:
                multi[j] += 1
                diff -= 1
            elif multi[j] > 2:
                multi[j] -= 1
                diff += 1
            i += 1
        sizes += multi
    rng.shuffle(sizes)
    return sizes


def event_kind(rng: random.Random, size: int) -> str:
    return rng.choice(MULTI_KINDS) if size > 1 else rng.choice(SINGLE_KINDS)


def spec_for(rng: random.Random, size: int, close_at: float) -> EventSpec:
    kind = event_kind(rng, size)
    spec = make_event(rng, kind, size, close_at)
    if len(spec.markets) != size:  # kinds with a natural size (fed) fall back to ladders
        spec = make_event(rng, "crypto_ladder" if size > 1 else "action", size, close_at)
    return spec


__all__ = [
    "CLOSED",
    "OPEN",
    "RESOLVED",
    "UPCOMING",
    "VOIDED",
    "LinkGroup",
    "LinkMember",
    "SimEvent",
    "SimMarket",
    "World",
    "build_events",
    "hex_id",
    "slugify",
    "spec_for",
    "token_id",
]
