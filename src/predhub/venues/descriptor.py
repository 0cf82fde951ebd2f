"""What predhub knows about a venue, declared once by the venue's own package.

Every adapter package (`predhub.venues.<name>`) has a `descriptor` module whose
`DESCRIPTOR` is a `VenueDescriptor`: names, capabilities, rate limits, the
planner's profile, settings, the ids that recognise its markets, its fee model
and its deep links. Everything else in predhub (settings, the planner's
budgets, the API's venue parameter, id discovery, the CLI's help, the
simulator and the contract tests) is derived from the registry here, so a new
venue is one new package and nothing else is edited.

This module is imported by `predhub.settings`, so it (and every `descriptor`
module) may import only leaf modules: no settings, no HTTP layer.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from predhub.venues.base import Capability
from predhub.venues.errors import UnknownVenue, VenuePackageInvalid
from predhub.venues.ratelimit import RateLimit

FeeCurve = Literal["quadratic", "notional"]


@dataclass(frozen=True, slots=True)
class FeeModel:
    """A venue's taker fee: what buying or selling `size` contracts at `price` costs.

    `quadratic`: size × rate × (price × (1 − price)) ** exponent (the fee peaks
    at 0.5 and vanishes at the extremes). `notional`: size × price × rate (a
    flat share of the money traded). The fee of one fill is rounded *up* to
    `step` dollars (venues round in their own favour); an order pays at least
    `minimum` (`order_fee`). Where a venue sets the rate per market, `rate` is
    its usual figure and the descriptor's `market_fees` gives one market's model.
    """

    curve: FeeCurve
    rate: float
    step: float = 0.0
    minimum: float = 0.0
    exponent: float = 1.0

    def fill_fee(self, size: float, price: float) -> float:
        """Dollars one fill of `size` contracts at `price` costs, rounded up, no minimum."""
        if size < 0 or not 0 <= price <= 1:
            raise ValueError(f"want size >= 0 and 0 <= price <= 1, got {size}, {price}")
        if size == 0 or self.rate == 0:
            return 0.0
        if self.curve == "quadratic":
            raw = size * self.rate * float((price * (1 - price)) ** self.exponent)
        else:
            raw = size * price * self.rate
        if self.step > 0:
            # round(…, 9) first so float noise (0.17500000000000002) does not add a step
            raw = math.ceil(round(raw / self.step, 9)) * self.step
            raw = round(raw, 10)
        return raw

    def fee(self, size: float, price: float) -> float:
        """Dollars a taker pays for `size` contracts at `price` in one fill (0 ≤ price ≤ 1)."""
        raw = self.fill_fee(size, price)
        return max(raw, self.minimum) if size > 0 and self.rate > 0 else raw

    def order_fee(self, fills: Iterable[tuple[float, float]]) -> float:
        """The fee of one order that sweeps several levels: each `(size, price)` fill is
        rounded on its own (each is a trade of its own at the venue), the order pays at
        least `minimum`."""
        total = 0.0
        any_fill = False
        for size, price in fills:
            if size > 0:
                any_fill = True
                total += self.fill_fee(size, price)
        if not any_fill or self.rate == 0:
            return round(total, 10)
        return round(max(total, self.minimum), 10)

    def per_contract(self, price: float) -> float:
        """The unrounded fee of one contract at `price` (the marginal cost in a book walk)."""
        if self.rate == 0:
            return 0.0
        if self.curve == "quadratic":
            return self.rate * float((price * (1 - price)) ** self.exponent)
        return price * self.rate

    def with_rate(self, rate: float) -> FeeModel:
        return FeeModel(self.curve, rate, self.step, self.minimum, self.exponent)


NO_FEES = FeeModel("notional", 0.0)

# A venue's fee for one market: (the market's stored venue fields, the per-series
# fee multipliers from settings) -> the market's model.
MarketFees = Callable[[Mapping[str, Any], Mapping[str, float]], FeeModel]


@dataclass(frozen=True, slots=True)
class LinkTemplates:
    """Deep links to a market's and an event's page on the venue's website.

    Templates are `str.format` strings over `market_id`, `market_slug`,
    `event_id` and `event_slug`. A link is None when a field its template needs
    is empty: a path with an empty part (`/event//`) leads nowhere, and a page
    showing no link says more than one showing a broken one.
    """

    market: str
    event: str

    def market_url(
        self,
        *,
        market_id: str = "",
        market_slug: str = "",
        event_id: str = "",
        event_slug: str = "",
    ) -> str | None:
        return _filled(
            self.market,
            market_id=market_id,
            market_slug=market_slug,
            event_id=event_id,
            event_slug=event_slug,
        )

    def event_url(self, *, event_id: str = "", event_slug: str = "") -> str | None:
        return _filled(self.event, event_id=event_id, event_slug=event_slug)


def _filled(template: str, **values: str) -> str | None:
    """`template` filled from `values`, or None when a field it names is empty."""
    needed = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if any(not values.get(name) for name in needed):
        return None
    return template.format(**values)


@dataclass(frozen=True, slots=True)
class IdPattern:
    """A form of id that names this venue without doubt (a lookup can go straight to it)."""

    regex: re.Pattern[str]
    description: str  # how a person would call it, e.g. "a condition id"

    def matches(self, key: str) -> bool:
        return self.regex.match(key) is not None


@dataclass(frozen=True, slots=True)
class PlannerProfile:
    """How the freshness engine packs work for this venue.

    `batch` is how many markets one request covers per data kind (batch
    endpoints), `cost` how many requests one such batch takes. The requests per
    second come from the adapter's own limit on `budget_endpoint` (a
    `(url key, endpoint)` pair naming the tightest endpoint the engine polls),
    so the planner and the limiter can never disagree.
    """

    budget_endpoint: tuple[str, str]
    batch: Mapping[str, int] = field(default_factory=dict)
    cost: Mapping[str, int] = field(default_factory=dict)
    job_requests: int = 10  # one-market-per-request kinds are grouped this many to a job


@dataclass(frozen=True, slots=True)
class FileSetting:
    """A file a venue setting names (a private key), checked when the settings load.

    `check` raises `ValueError` saying what is wrong with the file, never
    quoting its content.
    """

    description: str
    check: Callable[[Path], None]


@dataclass(frozen=True, slots=True)
class FlagSetting:
    """A venue's on/off setting."""

    default: bool
    description: str


@dataclass(frozen=True, slots=True)
class VenueSettingsSpec:
    """The venue's settings; each becomes a field of `Settings` named `<prefix>_<key>`.

    `urls` maps a key (`url`, `ws_url`, `gamma_url`, ...) to its default, so
    the environment variable is `<PREFIX>_<KEY>` (`<PREFIX>_URL`). `secrets` are
    optional credentials (`api_key` -> `<PREFIX>_API_KEY`), `files` paths to
    files checked at load (a private key), `flags` booleans. The top-N default
    is read from `top_n_env` (`<PREFIX>_TOP_N` unless a deployment's older
    name must keep working).
    """

    env_prefix: str
    urls: Mapping[str, str]
    top_n: int
    secrets: tuple[str, ...] = ()
    files: Mapping[str, FileSetting] = field(default_factory=dict)
    flags: Mapping[str, FlagSetting] = field(default_factory=dict)
    # keys (secrets, files) that are set together or not at all, such as a key id
    # and the private key that signs with it
    together: tuple[str, ...] = ()
    top_n_env: str = ""
    # the 24 h volume (USD) a market needs to rank among the venue's top markets
    # (TOP_VOLUME_FLOORS overrides it; None: MIN_VOLUME_USD)
    top_volume_floor_usd: float | None = None

    def field(self, key: str) -> str:
        """The `Settings` field (and, upper-cased, the environment variable) of a key."""
        return f"{self.env_prefix.lower()}_{key}"

    @property
    def top_n_field(self) -> str:
        return (self.top_n_env or f"{self.env_prefix}_TOP_N").lower()


@dataclass(frozen=True, slots=True)
class VenueDescriptor:
    """Every fact about one venue that code outside its adapter needs."""

    name: str  # the id used everywhere: URLs, the database, settings
    display_name: str
    order: int  # where it sorts in lists (and the simulator's generation order)
    has: frozenset[Capability]
    limits: Mapping[str, Mapping[str, RateLimit]]  # url key -> endpoint -> limit ("*": host)
    planner: PlannerProfile
    settings: VenueSettingsSpec
    fees: FeeModel
    links: LinkTemplates
    lookup_ids: tuple[IdPattern, ...] = ()
    # one market's fee model from its venue fields (None: `fees` for every market)
    market_fees: MarketFees | None = None
    # what signed requests add (`SIGNED_REQUESTS`), for `predhub venues check`
    signing_adds: str = ""

    def __post_init__(self) -> None:
        host, endpoint = self.planner.budget_endpoint
        if endpoint not in self.limits.get(host, {}):
            raise ValueError(f"{self.name}: budget endpoint {host} {endpoint} has no rate limit")
        missing = set(self.limits) - set(self.settings.urls)
        if missing:
            raise ValueError(f"{self.name}: limits for unknown urls {sorted(missing)}")

    @property
    def requests_per_second(self) -> float:
        """The documented rate of the tightest endpoint the engine polls."""
        host, endpoint = self.planner.budget_endpoint
        return self.limits[host][endpoint].rate

    def fees_for(
        self, extra: Mapping[str, Any], multipliers: Mapping[str, float] | None = None
    ) -> FeeModel:
        """The taker fee model of one market, from the fields its venue stored for it."""
        if self.market_fees is None:
            return self.fees
        return self.market_fees(extra, multipliers or {})

    def url_field(self, key: str) -> str:
        return self.settings.field(key)

    def url_env(self, key: str) -> str:
        return self.settings.field(key).upper()


@cache
def _registry() -> dict[str, VenueDescriptor]:
    import predhub.venues as venues_pkg

    found: list[VenueDescriptor] = []
    for info in pkgutil.iter_modules(venues_pkg.__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{venues_pkg.__name__}.{info.name}.descriptor")
        desc = getattr(module, "DESCRIPTOR", None)
        if not isinstance(desc, VenueDescriptor):
            raise VenuePackageInvalid(f"{module.__name__} has no VenueDescriptor named DESCRIPTOR")
        if desc.name != info.name:
            raise VenuePackageInvalid(
                f"{module.__name__} declares {desc.name!r}; want {info.name!r}"
            )
        found.append(desc)
    return {d.name: d for d in sorted(found, key=lambda d: (d.order, d.name))}


def descriptors() -> list[VenueDescriptor]:
    """Every venue, in display order."""
    return list(_registry().values())


def venue_names() -> tuple[str, ...]:
    return tuple(_registry())


def descriptor(name: str) -> VenueDescriptor:
    """The descriptor of `name`, or `UnknownVenue` listing the known ones."""
    try:
        return _registry()[name]
    except KeyError:
        raise UnknownVenue(f"unknown venue {name!r}; known: {', '.join(venue_names())}") from None
