"""Configuration of one simulated world.

Everything that changes what the world looks like (seed, counts, start time)
is fixed when the world is built; what only changes how it is served (speed,
latency, rate limits, faults) can also be changed at run time through the
admin endpoints.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

FaultKind = Literal[
    "error",  # an HTTP error status (a 5xx burst by default)
    "timeout",  # hold the request for `seconds` before answering
    "drop",  # close the connection after the headers, without a body
    "malformed",  # 200 with a truncated JSON body
    "missing_field",  # remove `field` wherever it appears in the body
    "renamed_field",  # rename `field` to `rename_to` wherever it appears
    "replaced_field",  # set `field` to `value` (any JSON) wherever it appears
    "rate_limit",  # answer the venue's own 429
    "ws_silent",  # WebSocket stops sending frames, pings and pongs too (connection stays open)
    "ws_close",  # WebSocket connections are closed by the server (once per `count`)
    "ws_gap",  # a sequenced WebSocket feed skips a message (a gap in its sequence numbers)
]


class FaultRule(BaseModel):
    """One injected fault: where it applies, what it does and how often."""

    venue: str = "*"
    endpoint: str = "*"  # a path template such as "/markets/keyset", or "*"
    kind: FaultKind = "error"
    rate: float = Field(default=1.0, ge=0, le=1)  # share of matching requests hit
    count: int | None = Field(default=None, ge=0)  # hits left; None = until cleared
    status: int = 503
    seconds: float = Field(default=30.0, ge=0)
    field: str | None = None
    rename_to: str | None = None
    value: Any = None  # what a "replaced_field" fault puts in place of the field's value
    retry_after: float | None = Field(
        default=None, ge=0, description="Adds a Retry-After header to error and rate_limit answers"
    )

    def matches(self, venue: str, endpoint: str) -> bool:
        return self.venue in ("*", venue) and self.endpoint in ("*", endpoint)


class SimConfig(BaseModel):
    """What the simulator builds and how it serves it."""

    seed: int = 7
    markets: dict[str, int] = Field(
        default_factory=dict,
        description="Active markets per venue (`<venue>_markets=N` also works); default per plug-in",
    )
    events: dict[str, int] = Field(
        default_factory=dict,
        description="Events per venue where its plug-in takes a count (`<venue>_events=N`)",
    )
    closed: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Markets per venue closed and resolved before the world starts, each with its "
            "trades and price history (`<venue>_closed=N` also works; default 0)"
        ),
    )
    cross_listed: int | None = Field(
        default=None, ge=0, description="Propositions listed on several venues (None: automatic)"
    )
    plant_arbitrage: bool = Field(
        default=False,
        description="Plant cross-listed pairs and exclusive sets with known arbitrages and traps",
    )
    start: float | None = Field(
        default=None, description="World start as unix seconds (None: the current time)"
    )
    history_hours: float = Field(
        default=2.0, ge=0, description="Trading simulated before the start, so history exists"
    )
    trades_per_market_hour: float = Field(
        default=3.0,
        ge=0,
        description="Mean trade rate per open market (heavy-tailed across markets)",
    )
    speed: float = Field(
        default=1.0, ge=0, description="Simulated seconds per real second; 0 freezes time"
    )
    latency_scale: float = Field(default=1.0, ge=0)
    rate_limits: bool = True
    ws_ping_seconds: float = Field(
        default=25.0,
        gt=0,
        description="Real seconds between the server's own pings on feeds whose venue pings",
    )
    faults: list[FaultRule] = Field(default_factory=list)
    tick_seconds: float = Field(
        default=0.5, gt=0, description="Real seconds between background world steps"
    )

    @model_validator(mode="before")
    @classmethod
    def _per_venue_counts(cls, data: Any) -> Any:
        """Gather `<venue>_markets` / `<venue>_events` keys; fill in each plug-in's default."""
        if not isinstance(data, dict):
            return data
        from predhub.sim.plugins import plugins

        data = dict(data)
        markets = dict(data.get("markets") or {})
        events = dict(data.get("events") or {})
        closed = dict(data.get("closed") or {})
        small = bool(data.pop("_small", False))
        for p in plugins():
            if f"{p.name}_markets" in data:
                markets[p.name] = data.pop(f"{p.name}_markets")
            if f"{p.name}_events" in data:
                events[p.name] = data.pop(f"{p.name}_events")
            if f"{p.name}_closed" in data:
                closed[p.name] = data.pop(f"{p.name}_closed")
            markets.setdefault(p.name, p.small_markets if small else p.markets)
            default_events = p.small_events if small else p.events
            if default_events is not None:
                events.setdefault(p.name, default_events)
        unknown = [k for k in data if k.endswith(("_markets", "_events", "_closed"))]
        names = {p.name for p in plugins()}
        unknown += [k for k in [*markets, *events, *closed] if k not in names]
        if unknown:
            raise ValueError(f"unknown venue counts {sorted(set(unknown))}")
        if any(n < 0 for n in [*markets.values(), *events.values(), *closed.values()]):
            raise ValueError("market and event counts must be >= 0")
        data["markets"], data["events"], data["closed"] = markets, events, closed
        return data

    def market_count(self, venue: str) -> int:
        return self.markets.get(venue, 0)

    def closed_count(self, venue: str) -> int:
        return self.closed.get(venue, 0)

    @classmethod
    def small(cls, **overrides: object) -> SimConfig:
        """A world small and fast enough for a unit test: frozen time, no latency."""
        base: dict[str, object] = {
            "_small": True,
            "speed": 0.0,
            "latency_scale": 0.0,
            "rate_limits": False,
            "start": 1_790_000_000.0,
        }
        base.update(overrides)
        return cls.model_validate(base)
