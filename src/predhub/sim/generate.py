"""Populating a new world: events, markets, ids, lifecycle times and links.

Each venue gets its configured number of markets open at the start, plus a
tenth more that were already resolved (so `closed=true` queries find
something) and a few that open later. Cross-listed propositions are created
first and count toward each venue's total.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from predhub.sim.names import (
    ASSETS,
    OFFICES,
    PLACES,
    EventSpec,
    MarketSpec,
    day_of,
    hex_id,
    person,
    slugify,
    strikes,
    token_id,
    two_teams,
)
from predhub.sim.plugins import Proposition, plugin, plugins
from predhub.sim.world import (
    DAY,
    HOUR,
    LinkGroup,
    LinkMember,
    PlantedPair,
    SimEvent,
    SimMarket,
    build_events,
    spec_for,
)

if TYPE_CHECKING:
    from predhub.sim.trades import TradeStore
    from predhub.sim.world import World

RESOLVED_SHARE = 0.10
UPCOMING_SHARE = 0.03
# look-alike traps, in turn: same subject, another threshold / day / band / resolution
# source; and both sides of a game that can be drawn (neither is the other's NO)
TRAPS = ("threshold", "date", "band", "source", "game")
SOURCE, OTHER_SOURCE = "Coinbase", "Binance"


def _read_key(key: tuple[object, ...] | None, close: float) -> tuple[object, ...] | None:
    """A key's day with the year a reader takes: the nearest before the market's close."""
    if key is None:
        return None
    end = day_of(close)
    out: list[object] = []
    for part in key:
        if isinstance(part, date):
            year = end.year
            try:
                if date(year, part.month, part.day) > end + timedelta(days=31):
                    year -= 1
                part = date(year, part.month, part.day)
            except ValueError:
                pass
        out.append(part)
    return tuple(out)


class _Builder:
    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = world._gen
        self.seed = world.seed
        self.start = world.start
        self.counter = {p.name: 0 for p in plugins()}
        self.ev_counter = {p.name: 0 for p in plugins()}
        self.slugs: set[str] = set()

    # --- times and numbers ------------------------------------------------------
    def times(self, klass: str) -> tuple[float, float, float, float]:
        """(created, open, close, resolve) for a lifecycle class."""
        r, s = self.rng, self.start
        if klass == "resolved":
            close = s - r.uniform(HOUR, 60 * DAY)
            created = close - r.uniform(2 * DAY, 90 * DAY)
            return created, created, close, close + r.uniform(300, 2 * HOUR)
        if klass == "archive":  # closed long before the start: the complete catalogue's past
            close = s - r.uniform(2 * DAY, 400 * DAY)
            created = close - r.uniform(2 * DAY, 30 * DAY)
            return created, created, close, close + r.uniform(300, 2 * HOUR)
        if klass == "upcoming":
            opened = s - self.w.config.history_hours * HOUR + r.uniform(0, 54 * HOUR)
            close = opened + r.uniform(2 * DAY, 120 * DAY)
            return opened, opened, close, close + r.uniform(300, 2 * HOUR)
        created = s - r.uniform(DAY, 120 * DAY)
        if r.random() < 0.06:
            close = s + r.expovariate(1 / (8 * HOUR)) + 60
        else:
            close = s + r.uniform(2 * DAY, 300 * DAY)
        return created, created, close, close + r.uniform(300, 2 * HOUR)

    def klass(self) -> str:
        x = self.rng.random()
        if x < RESOLVED_SHARE / (1 + RESOLVED_SHARE + UPCOMING_SHARE):
            return "resolved"
        if x < (RESOLVED_SHARE + UPCOMING_SHARE) / (1 + RESOLVED_SHARE + UPCOMING_SHARE):
            return "upcoming"
        return "active"

    def weight(self) -> float:
        return min(150.0, self.rng.paretovariate(1.4)) / 3.5

    def prices(self, n: int, exclusive: bool) -> list[float]:
        r = self.rng
        if exclusive and n > 1:
            g = [r.gammavariate(0.6, 1.0) + 1e-3 for _ in range(n)]
            total = sum(g)
            return [min(0.99, max(0.002, x / total)) for x in g]
        return [min(0.97, max(0.03, r.betavariate(0.9, 0.9))) for _ in range(n)]

    # --- ids --------------------------------------------------------------------
    def unique_slug(self, text: str) -> str:
        base = slugify(text) or "market"
        slug, i = base, 1
        while slug in self.slugs:
            i += 1
            slug = f"{base}-{i}"
        self.slugs.add(slug)
        return slug

    def event_id(self, venue: str, spec: EventSpec, close_at: float) -> str:
        j = self.ev_counter[venue]
        self.ev_counter[venue] += 1
        return plugin(venue).event_id(j, spec, close_at)

    # --- building ---------------------------------------------------------------
    def add(
        self, venue: str, spec: EventSpec, klass: str, forced_prices: list[float] | None = None
    ) -> SimEvent:
        w, r, seed = self.w, self.rng, self.seed
        created, opened, close, resolve = self.times(klass)
        ev_id = self.event_id(venue, spec, close)
        venue_plugin = plugin(venue)
        ev = w.add_event(
            SimEvent(
                venue=venue,
                native_id=ev_id,
                title=spec.title,
                slug=(
                    self.unique_slug(spec.title)
                    if venue_plugin.unique_event_slugs
                    else slugify(spec.title)
                ),
                category=spec.category,
                exclusive=spec.exclusive and len(spec.markets) > 1,
                kind=spec.kind,
                series=spec.series,
                created_at=created,
            )
        )
        void = r.random() < venue_plugin.void_share
        prices = forced_prices or self.prices(len(spec.markets), ev.exclusive)
        for i, ms in enumerate(spec.markets):
            k = self.counter[venue]
            self.counter[venue] += 1
            wgt = self.weight()
            slug = self.unique_slug(ms.question)
            if venue_plugin.slug_id is not None:  # markets addressed by slug
                slug = native = venue_plugin.slug_id(slug, created)
            else:
                native = venue_plugin.market_id(ev_id, ms, k, i, slug, created)
            m = SimMarket(
                idx=len(w.markets),
                venue=venue,
                native_id=native,
                event=ev,
                question=ms.question,
                label=ms.label,
                slug=slug,
                condition_id=hex_id(seed, "condition", venue, native),
                question_id=hex_id(seed, "question", venue, native),
                token_ids=(token_id(seed, venue, native, 0), token_id(seed, venue, native, 1)),
                created_at=created,
                open_at=opened,
                close_at=close,
                resolve_at=resolve,
                price=prices[i],
                tick=venue_plugin.tick,
                half_spread=r.uniform(0.004, 0.02) * (2.0 if wgt < 0.2 else 1.0),
                rate=wgt * w.config.trades_per_market_hour / HOUR,
                base_volume=round(
                    wgt * r.uniform(2_000, 60_000) * (1 + (self.start - created) / (30 * DAY)), 2
                ),
                strike=ms.strike,
                void_planned=void,
                key=_read_key(ms.key, close),
            )
            m.prev_price = m.price
            m.vol24 = m.base_volume * r.uniform(0.005, 0.05)
            m.vol24_at = w.now
            if venue_plugin.finish_market is not None:
                venue_plugin.finish_market(m, k, r)
            w.add_market(m)
        return ev

    def fill(self, venue: str, n_markets: int, n_events: int, single_share: float) -> None:
        if n_markets <= 0:
            return
        extra = 1 + RESOLVED_SHARE + UPCOMING_SHARE
        target = math.ceil(n_markets * extra)
        sizes = build_events(self.rng, target, math.ceil(n_events * extra), single_share)
        for size in sizes:
            klass = self.klass()
            probe = self.start + self.rng.uniform(2 * DAY, 60 * DAY)
            self.add(venue, spec_for(self.rng, size, probe), klass)

    def archive(self, venue: str, n_markets: int, single_share: float) -> None:
        """`n_markets` markets closed and resolved before the start, each with a few trades.

        Their trades are written straight into the trade store (kept out of
        the venue-wide recent feeds) and they never trade again, so a
        complete-catalogue load has history to read without slowing the
        living world.
        """
        if n_markets <= 0:
            return
        r = self.rng
        sizes = build_events(r, n_markets, max(1, n_markets // 2), single_share)
        trades = self.w.trades
        for size in sizes:
            probe = self.start - r.uniform(2 * DAY, 400 * DAY)
            ev = self.add(venue, spec_for(r, size, probe), "archive")
            for m in ev.markets:
                m.rate = 0.0
                m.vol24 = 0.0
                self._archive_trades(m, trades)

    def _archive_trades(self, m: SimMarket, trades: TradeStore) -> None:
        """A market's old trades, drawn from their own seed when first read (see `defer`)."""
        r = self.rng
        count = min(40, int(r.expovariate(1 / 6)))
        if count:
            lo = max(m.open_at, m.close_at - 14 * DAY)
            trades.defer(
                m.idx,
                functools.partial(
                    _archive_trades, r.getrandbits(64), count, lo, m.close_at - 1, m.price
                ),
            )

    # --- cross-listing ------------------------------------------------------------
    def cross_list(self, n_groups: int) -> None:
        """Plant propositions listed on several venues, each venue wording them its own way.

        Every group is one proposition (an asset above a strike on a day, or a
        person winning an election) on the first two venues and sometimes the
        others; a member may be worded as the complement (`inverse`). Some groups
        also get a stricter strike on the second venue (`subset`), and every
        third a look-alike trap (see `TRAPS`). `world.planted` lists every pair.
        """
        venues = [p.name for p in plugins() if self._wanted(p.name)]
        if len(venues) < 2:
            return
        r, w = self.rng, self.w
        traps_made = {True: 0, False: 0}
        for g in range(n_groups):
            crypto = r.random() < 0.7
            close = self.start + r.uniform(3 * DAY, 90 * DAY)
            members = venues[:2] + [v for v in venues[2:] if r.random() < 0.4]
            group = LinkGroup(
                gid=len(w.links), relation="equivalent", shared_price=r.uniform(0.15, 0.85)
            )
            w.links.append(group)
            if crypto:
                name, sym, base = r.choice(ASSETS)
                k = _tidy(strikes(r, base, 1)[0])
                prop = Proposition("above", name, sym, value=k, close=close)
            else:
                prop = Proposition(
                    "win", person(r), place=r.choice(PLACES), office=r.choice(OFFICES), close=close
                )
            for j, venue in enumerate(members):
                inverted = j > 0 and r.random() < 0.25
                p = 1.0 - group.shared_price if inverted else group.shared_price
                m = self._plant(
                    venue, _flip(prop) if inverted else prop, p, SOURCE if crypto else ""
                )
                m.link = LinkMember(group.gid, inverted)
                group.members.append(m)
            group.note = group.members[0].question
            for a, b in itertools.combinations(group.members, 2):
                assert a.link is not None and b.link is not None
                relation = "inverse" if a.link.inverted != b.link.inverted else "same"
                w.planted.append(PlantedPair(a, b, relation, note="one proposition"))
            first, second = group.members[0], members[1]
            if crypto and g % 4 == 1:
                self._nested(first, second, prop)
            if g % 3 == 0:  # each kind in turn (an election has no strike, band or source)
                kinds = TRAPS if crypto else ("date", "game")
                n = traps_made[crypto]
                traps_made[crypto] += 1
                self._trap(kinds[n % len(kinds)], first, second, prop, crypto)

    def _nested(self, first: SimMarket, venue: str, prop: Proposition) -> None:
        """A stricter strike on another venue: its YES implies the first market's YES."""
        stricter = Proposition(
            "above",
            prop.subject,
            prop.symbol,
            value=_tidy(prop.value * 1.05),
            close=prop.close,
        )
        m = self._plant(venue, stricter, self.rng.uniform(0.05, 0.4), SOURCE)
        m.resolve_at = first.resolve_at + 60  # settles after the looser strike, never against it
        group = LinkGroup(gid=len(self.w.links), relation="nested", shared_price=0.5)
        group.members = [first, m]
        group.note = "a stricter strike implies the looser one"
        self.w.links.append(group)
        m.link = LinkMember(group.gid, False)
        self.w.planted.append(PlantedPair(m, first, "subset", note=group.note))

    def _trap(
        self, kind: str, first: SimMarket, venue: str, prop: Proposition, crypto: bool
    ) -> None:
        """A market that looks like `first` (or a pair that looks alike) but pays otherwise."""
        r = self.rng
        source = SOURCE if crypto else ""
        a: SimMarket = first
        relation = "different"
        if kind == "game":
            home, away = two_teams(r)
            close = prop.close
            a = self._plant(first.venue, Proposition("beat", home, place=away, close=close), 0.5)
            b = self._plant(venue, Proposition("beat", away, place=home, close=close), 0.4)
            note = "both sides of a game that can be drawn: both can lose"
        elif kind == "band" and crypto:
            lo = prop.value
            step = _tidy(lo * 0.02)
            a = self._plant(
                first.venue,
                Proposition(
                    "band",
                    prop.subject,
                    prop.symbol,
                    value=lo,
                    high=_tidy(lo + step),
                    close=prop.close,
                ),
                0.3,
                SOURCE,
            )
            b = self._plant(
                venue,
                Proposition(
                    "band",
                    prop.subject,
                    prop.symbol,
                    value=_tidy(lo + step),
                    high=_tidy(lo + 2 * step),
                    close=prop.close,
                ),
                0.3,
                SOURCE,
            )
            note = "different band"
        elif kind == "source" and crypto:
            b = self._plant(venue, prop, r.uniform(0.1, 0.9), OTHER_SOURCE)
            note = f"different resolution source: {SOURCE} vs {OTHER_SOURCE}"
        elif kind == "threshold" and crypto:
            stricter = _tidy(prop.value * 1.025)
            other = Proposition(
                "above", prop.subject, prop.symbol, value=stricter, close=prop.close
            )
            b = self._plant(venue, other, r.uniform(0.1, 0.9), SOURCE)
            # a stricter strike implies the looser one: a subset, never the same
            relation, a, b = "subset", b, a
            note = "different threshold"
        else:  # a different day (a crypto strike) or year (an election)
            shift = DAY if crypto else 366 * DAY
            b = self._plant(venue, _moved(prop, shift), r.uniform(0.1, 0.9), source)
            note = "different day" if crypto else "different year"
        decoy = LinkGroup(gid=len(self.w.links), relation="lookalike", shared_price=0.5)
        decoy.members = [a, b]
        decoy.note = note
        self.w.links.append(decoy)
        for m in (a, b):
            if m.link is None:
                m.link = LinkMember(decoy.gid, False)
        self.w.planted.append(PlantedPair(a, b, relation, trap=kind, note=note))

    def _wanted(self, venue: str) -> bool:
        return self.w.config.market_count(venue) > 0

    def _plant(self, venue: str, prop: Proposition, price: float, source: str = "") -> SimMarket:
        """One lone open market on `venue` asking `prop` in the venue's words."""
        q = plugin(venue).wording(prop)
        crypto = prop.kind in ("above", "below", "band")
        series = {"beat": "KXGAME"}.get(prop.kind, f"KX{prop.symbol}D" if crypto else "KXELECT")
        category = "Crypto" if crypto else "Sports" if prop.kind == "beat" else "Politics"
        key, inverted = proposition_key(prop)
        spec = EventSpec(
            "cross",
            category,
            q,
            False,
            [MarketSpec(q, "", prop.value if prop.kind == "above" else None, key)],
            series=series,
        )
        ev = self.add(venue, spec, "active", [min(0.97, max(0.03, price))])
        m = ev.markets[0]
        m.close_at, m.resolve_at = prop.close, prop.close + 900
        m.key, m.key_inverted = key, inverted
        if source:
            m.extra["source"] = source
        return m


def _tidy(x: float) -> float:
    """A strike every venue can print exactly: whole above 100, four significant digits below."""
    return float(round(x)) if x >= 100 else float(f"{x:.4g}")


def _flip(p: Proposition) -> Proposition:
    """The complement of a proposition (YES pays exactly when the original's NO pays)."""
    kind = {"above": "below", "below": "above", "win": "lose", "lose": "win"}[p.kind]
    return Proposition(kind, p.subject, p.symbol, p.place, p.office, p.value, p.high, p.close)


def _moved(p: Proposition, seconds: float) -> Proposition:
    return Proposition(
        p.kind, p.subject, p.symbol, p.place, p.office, p.value, p.high, p.close + seconds
    )


def proposition_key(p: Proposition) -> tuple[tuple[object, ...], bool]:
    """The planted proposition's key in the generated markets' format, and its side."""
    day = day_of(p.close)
    if p.kind in ("above", "below"):
        return ("above", p.subject, p.value, day), p.kind == "below"
    if p.kind == "band":
        return ("band", p.subject, p.value, p.high, day), False
    if p.kind == "beat":
        return ("beat", p.subject, p.place, day), False
    year = datetime.fromtimestamp(p.close, UTC).year
    return ("win", p.subject, p.place, p.office, year), p.kind == "lose"


def _archive_trades(
    seed: int, count: int, lo: float, hi: float, price: float
) -> list[tuple[int, float, float, int, str]]:
    """(ts ms, token price, size, outcome, side) of an old market's trades, oldest first."""
    r = random.Random(seed)
    stamps = sorted(r.uniform(lo, hi) for _ in range(count))
    out: list[tuple[int, float, float, int, str]] = []
    for ts in stamps:
        price = min(0.98, max(0.02, price + r.gauss(0.0, 0.04)))
        outcome = 0 if r.random() < 0.6 else 1
        side = "BUY" if r.random() < 0.55 else "SELL"
        token_price = round(price if outcome == 0 else 1.0 - price, 4)
        size = round(min(50_000.0, math.exp(r.gauss(3.0, 1.4))), 2)
        out.append((int(ts * 1000), token_price, size, outcome, side))
    return out


def populate(world: World) -> None:
    c = world.config
    b = _Builder(world)
    n_groups = c.cross_listed
    if n_groups is None:  # cross-listing scales with the second venue's size
        first, second = (p.name for p in plugins()[:2])
        n_groups = (
            max(3, min(60, c.market_count(second) // 50))
            if c.market_count(first) and c.market_count(second)
            else 0
        )
    b.cross_list(n_groups)
    for p in plugins():
        taken = b.counter[p.name]
        total = c.market_count(p.name)
        events = p.event_count(total, c.events.get(p.name), taken) if total else 0
        b.fill(p.name, max(0, total - taken), events, p.single_share)
    if c.plant_arbitrage and len(plugins()) >= 2:
        from predhub.sim.arbitrage import plant

        plant(b)
    for p in plugins():
        b.archive(p.name, c.closed_count(p.name), p.single_share)
    _ = random  # the builder's stream is the world's generation stream
