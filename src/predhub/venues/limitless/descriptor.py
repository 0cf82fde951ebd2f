"""Limitless's descriptor: one public REST API; markets are addressed by slug."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from predhub.venues.base import Capability
from predhub.venues.descriptor import (
    NO_FEES,
    FeeModel,
    LinkTemplates,
    PlannerProfile,
    VenueDescriptor,
    VenueSettingsSpec,
)
from predhub.venues.ratelimit import RateLimit

FEES = FeeModel("notional", 0.03)


def market_fees(extra: Mapping[str, Any], multipliers: Mapping[str, float]) -> FeeModel:
    """3 % of the notional (feeRateBps 300, the CLOB default); none where the market's
    `fee` flag is false."""
    if extra.get("fee") is False:
        return NO_FEES
    return FEES


DESCRIPTOR = VenueDescriptor(
    name="limitless",
    display_name="Limitless",
    order=2,
    has=frozenset(
        {
            Capability.LIST_EVENTS,
            Capability.LIST_MARKETS,
            Capability.MARKETS_BY_ID,
            Capability.ORDER_BOOKS,
            Capability.PRICE_HISTORY,
            Capability.LIVE_STREAM,
        }
    ),
    # no published figure; the official SDK backs off on 429 from a few requests
    # a second, so we stay there
    limits={"url": {"*": RateLimit(5, 1)}},
    planner=PlannerProfile(budget_endpoint=("url", "*")),
    settings=VenueSettingsSpec(
        env_prefix="LIMITLESS",
        urls={"url": "https://api.limitless.exchange", "ws_url": "wss://ws.limitless.exchange"},
        top_n=30,
        top_volume_floor_usd=1_000.0,
    ),
    # takers only; CLOB orders carry the profile's feeRateBps, 300 (3 %) by default,
    # the top of the CLOB range (AMM trades pay a flat 0.40 %)
    fees=FEES,
    market_fees=market_fees,
    links=LinkTemplates(
        market="https://limitless.exchange/markets/{market_slug}",
        event="https://limitless.exchange/markets/{event_slug}",
    ),
)
