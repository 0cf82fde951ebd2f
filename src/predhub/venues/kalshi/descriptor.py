"""Kalshi's descriptor: one REST API (trade-api v2) and its WebSocket.

Market data over REST is public. The WebSocket needs a signed handshake, so
it streams only with an API key id (`KALSHI_API_KEY`) and its private key
file (`KALSHI_PRIVATE_KEY_FILE`); `KALSHI_SIGN_ALL_REQUESTS` signs every REST
call too (signed traffic counts against the account's own, often higher,
rate tier).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from predhub.venues.base import Capability
from predhub.venues.descriptor import (
    FeeModel,
    FileSetting,
    FlagSetting,
    IdPattern,
    LinkTemplates,
    PlannerProfile,
    VenueDescriptor,
    VenueSettingsSpec,
)
from predhub.venues.kalshi.signing import check_private_key_file
from predhub.venues.ratelimit import RateLimit

TAKER_RATE = 0.07
FEES = FeeModel("quadratic", TAKER_RATE, step=0.0001)


def market_fees(extra: Mapping[str, Any], multipliers: Mapping[str, float]) -> FeeModel:
    """The taker fee of one market: M × 0.07 × C × P × (1 − P), rounded up to $0.0001.

    The multiplier M is the series' `fee_multiplier`: a multiplier set for the
    market's series in settings wins, then one stored with the market, else 1.
    """
    series = extra.get("series_ticker")
    multiplier: Any = multipliers.get(series) if isinstance(series, str) else None
    if multiplier is None:
        multiplier = extra.get("fee_multiplier")
    try:
        m = float(multiplier) if multiplier is not None else 1.0
    except (TypeError, ValueError):
        m = 1.0
    return FEES.with_rate(TAKER_RATE * max(m, 0.0))


TICKER = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9.]+)+$")

DESCRIPTOR = VenueDescriptor(
    name="kalshi",
    display_name="Kalshi",
    order=1,
    has=frozenset(
        {
            Capability.LIST_EVENTS,
            Capability.LIST_MARKETS,
            Capability.MARKETS_SINCE,
            Capability.MARKETS_BY_ID,
            Capability.BATCH_QUOTES,
            Capability.ORDER_BOOKS,
            Capability.BATCH_ORDER_BOOKS,
            Capability.PRICE_HISTORY,
            Capability.TRADES,
            Capability.LIVE_STREAM,
            Capability.LIVE_TRADES,
            Capability.SIGNED_REQUESTS,
            Capability.CLOSED_MARKETS,
        }
    ),
    limits={"url": {"*": RateLimit(20, 1)}},  # basic tier: 200 tokens/s at 10 tokens per read
    planner=PlannerProfile(
        budget_endpoint=("url", "*"),
        batch={"quotes": 100, "books": 100, "metadata": 100},
    ),
    settings=VenueSettingsSpec(
        env_prefix="KALSHI",
        urls={
            "url": "https://external-api.kalshi.com/trade-api/v2",
            "ws_url": "wss://external-api.kalshi.com/trade-api/ws/v2",
        },
        top_n=150,
        top_volume_floor_usd=10_000.0,
        # the API key id Kalshi shows when the key is made (sent as KALSHI-ACCESS-KEY)
        secrets=("api_key",),
        files={
            "private_key_file": FileSetting(
                "PEM file of the RSA private key that signs for KALSHI_API_KEY",
                check_private_key_file,
            ),
        },
        flags={
            "sign_all_requests": FlagSetting(
                False, "Sign every REST call too (the WebSocket handshake is always signed)"
            ),
        },
        together=("api_key", "private_key_file"),
    ),
    # taker fee 0.07 × C × P × (1 − P), rounded up to $0.0001 per trade
    fees=FEES,
    market_fees=market_fees,
    # the site resolves an event ticker under /markets; a market's page is its event's
    links=LinkTemplates(
        market="https://kalshi.com/markets/{event_id}",
        event="https://kalshi.com/markets/{event_id}",
    ),
    lookup_ids=(IdPattern(TICKER, "a Kalshi ticker"),),
    signing_adds=(
        "the WebSocket (order books, trades and tickers as they happen instead of polling)"
        " and, with KALSHI_SIGN_ALL_REQUESTS, the account's own rate tier on REST calls"
    ),
)
