"""Polymarket's descriptor: Gamma (catalog), CLOB (quotes, books, history), Data API (trades)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from predhub.venues.base import Capability
from predhub.venues.descriptor import (
    NO_FEES,
    FeeModel,
    IdPattern,
    LinkTemplates,
    PlannerProfile,
    VenueDescriptor,
    VenueSettingsSpec,
)
from predhub.venues.ratelimit import RateLimit

FEES = FeeModel("quadratic", 0.07, step=0.00001)


def market_fees(extra: Mapping[str, Any], multipliers: Mapping[str, float]) -> FeeModel:
    """One market's taker fee from its Gamma fields: C × rate × (p(1 − p))^exponent, 5 dp.

    `feesEnabled: false` is fee-free; `feeSchedule {rate, exponent}` sets the
    curve; a market carrying neither is charged the crypto rate (0.07), so an
    unknown schedule never makes an opportunity look better than it is.
    """
    if extra.get("feesEnabled") is False:
        return NO_FEES
    schedule = extra.get("feeSchedule")
    if isinstance(schedule, Mapping):
        try:
            rate = float(schedule.get("rate", FEES.rate))
            exponent = float(schedule.get("exponent", 1) or 1)
        except (TypeError, ValueError):
            return FEES
        if rate < 0 or exponent <= 0:
            return FEES
        return FeeModel("quadratic", rate, step=FEES.step, exponent=exponent)
    return FEES


CONDITION_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")
TOKEN_ID = re.compile(r"^[0-9]{19,80}$")  # CLOB token ids: uint256 in decimal; Gamma ids are short

DESCRIPTOR = VenueDescriptor(
    name="polymarket",
    display_name="Polymarket",
    order=0,
    has=frozenset(Capability) - {Capability.SIGNED_REQUESTS},
    limits={
        "gamma_url": {
            "*": RateLimit(4000, 10),
            "/markets": RateLimit(300, 10),
            "/events": RateLimit(500, 10),
            "/public-search": RateLimit(350, 10),
        },
        "clob_url": {
            "*": RateLimit(9000, 10),
            "/book": RateLimit(1500, 10),
            "/price": RateLimit(1500, 10),
            "/midpoint": RateLimit(1500, 10),
            "/books": RateLimit(500, 10),
            "/prices": RateLimit(500, 10),
            "/midpoints": RateLimit(500, 10),
            "/prices-history": RateLimit(1000, 10),
        },
        "data_url": {"*": RateLimit(1000, 10), "/trades": RateLimit(200, 10)},
    },
    # the Data API's /trades (200 per 10 s) is the tightest endpoint polled; CLOB
    # /prices and /books batches take hundreds of tokens per request
    planner=PlannerProfile(
        budget_endpoint=("data_url", "/trades"),
        batch={"quotes": 100, "books": 50, "metadata": 50},
    ),
    settings=VenueSettingsSpec(
        env_prefix="POLYMARKET",
        urls={
            "gamma_url": "https://gamma-api.polymarket.com",
            "clob_url": "https://clob.polymarket.com",
            "data_url": "https://data-api.polymarket.com",
            "ws_url": "wss://ws-subscriptions-clob.polymarket.com/ws/market",
        },
        top_n=300,
        top_volume_floor_usd=30_000.0,
    ),
    # takers pay C × rate × p × (1 − p), to 5 decimals; the rate is set per market
    # (`feeSchedule.rate`); 0.07 is the crypto markets' rate
    fees=FEES,
    market_fees=market_fees,
    links=LinkTemplates(
        market="https://polymarket.com/event/{event_slug}/{market_slug}",
        event="https://polymarket.com/event/{event_slug}",
    ),
    lookup_ids=(
        IdPattern(CONDITION_ID, "a Polymarket condition id"),
        IdPattern(TOKEN_ID, "a Polymarket token id"),
    ),
)
