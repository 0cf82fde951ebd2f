"""The simulator's venue plug-ins: one module per venue, the only place naming it.

Every venue in the registry (`predhub.venues.descriptor`) has a simulator
module `predhub.sim.<name>` whose `PLUGIN` says how the simulator serves it
(routes under which URL prefixes, WebSocket routes, extra settings) and how
the world generates its markets (ids, slugs, ticks, wording of cross-listed
questions, trade ids, fees). The app, the world builder, the ground truth and
the CLI iterate over the plug-ins, so adding a venue's simulator is one module.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from predhub.sim.names import EventSpec, MarketSpec, hex_id
from predhub.venues.descriptor import venue_names

if TYPE_CHECKING:
    from predhub.sim.runtime import Sim
    from predhub.sim.world import SimMarket, World


@dataclass(frozen=True, slots=True)
class Proposition:
    """What a planted cross-listed market pays on, for a plug-in to word its way.

    kind: "above"/"below" (an asset's price against `value` on the day of `close`),
    "band" (between `value` and `high`), "win"/"lose" (`subject` in the election
    of `place`, for `office`, in the year of `close`), "beat" (`subject` beats
    `place`, the other team, on the day of `close`).
    """

    kind: str
    subject: str  # an asset's name, a person or the home team
    symbol: str = ""  # an asset's ticker symbol
    place: str = ""  # an election's place, or the other team of a game
    office: str = ""
    value: float = 0.0
    high: float = 0.0
    close: float = 0.0


def hashed_trade_id(world: World, m: SimMarket, seq: int) -> str:
    """A stable transaction-hash-like trade id (venues without ids of their own use it)."""
    return hex_id(world.seed, "tx", m.venue, m.native_id, seq)


@dataclass(frozen=True, slots=True)
class SimPlugin:
    """How the simulator serves one venue and builds its share of the world."""

    name: str
    # serving: setting name (e.g. `<PREFIX>_URL`) -> path prefix on the simulator
    prefixes: Mapping[str, str]
    routes: Callable[[], Mapping[str, list[BaseRoute]]]
    ws_prefixes: Mapping[str, str] = field(default_factory=dict)
    ws_routes: Callable[[], list[BaseRoute]] = list
    extra_env: Mapping[str, str] = field(default_factory=dict)  # e.g. a dummy API key
    on_tick: Callable[[Sim], None] | None = None  # after each background world step
    # test credentials of a venue whose requests are signed: `credentials(dir)` makes
    # (or reuses) a test key pair in `dir` and returns the settings that sign with it;
    # `accept_credentials(sim, dir)` has the simulator accept that key
    credentials: Callable[[Path], Mapping[str, str]] | None = None
    accept_credentials: Callable[[Sim, Path], None] | None = None
    # the world: sizes (a full world, and `SimConfig.small`)
    markets: int = 100
    small_markets: int = 30
    events: int | None = None  # a configurable event count (None: `event_count` alone)
    small_events: int | None = None
    event_count: Callable[[int, int | None, int], int] = lambda markets, events, taken: markets
    single_share: float = 0.5  # share of events with a single market
    # the world: markets
    tick: float = 0.01
    void_share: float = 0.03
    unique_event_slugs: bool = False
    event_id: Callable[[int, EventSpec, float], str] = lambda j, spec, close: str(1 + j)
    # (event id, spec, k-th market of the venue, i-th of the event, slug, created) -> native id
    market_id: Callable[[str, MarketSpec, int, int, str, float], str] = (
        lambda ev_id, ms, k, i, slug, created: str(1 + k)
    )
    # markets addressed by slug: (slug, created) -> the slug that is also the native id
    slug_id: Callable[[str, float], str] | None = None
    finish_market: Callable[[SimMarket, int, random.Random], None] | None = None
    # the question of a planted cross-listed proposition, in this venue's words
    wording: Callable[[Proposition], str] = lambda p: p.subject
    trade_id: Callable[[World, SimMarket, int], str] = hashed_trade_id
    fee: Callable[[float], float] = lambda price: 0.0  # taker fee per contract at a price
    fee_text: str = "0"
    # a field of the venue's market payload its adapter cannot do without (the
    # contract tests remove it to check that schema drift costs items, not pages)
    required_field: str = ""


@cache
def _registry() -> dict[str, SimPlugin]:
    plugins: dict[str, SimPlugin] = {}
    for name in venue_names():
        module = importlib.import_module(f"{__package__}.{name}")
        plugin = getattr(module, "PLUGIN", None)
        if not isinstance(plugin, SimPlugin) or plugin.name != name:
            raise RuntimeError(f"{module.__name__} has no SimPlugin named {name!r} as PLUGIN")
        plugins[name] = plugin
    return plugins


def plugins() -> list[SimPlugin]:
    """Every venue's plug-in, in the registry's order."""
    return list(_registry().values())


def plugin(name: str) -> SimPlugin:
    return _registry()[name]


def sim_venues() -> tuple[str, ...]:
    return tuple(_registry())
