"""Opinion's descriptor: its OpenAPI, behind an API key."""

from __future__ import annotations

from predhub.venues.base import Capability
from predhub.venues.descriptor import (
    FeeModel,
    LinkTemplates,
    PlannerProfile,
    VenueDescriptor,
    VenueSettingsSpec,
)
from predhub.venues.ratelimit import RateLimit

DESCRIPTOR = VenueDescriptor(
    name="opinion",
    display_name="Opinion",
    order=3,
    has=frozenset(
        {
            Capability.LIST_EVENTS,
            Capability.LIST_MARKETS,
            Capability.MARKETS_BY_ID,
            Capability.ORDER_BOOKS,
            Capability.PRICE_HISTORY,
            Capability.CLOSED_MARKETS,
            Capability.LIVE_STREAM,
        }
    ),
    limits={"url": {"*": RateLimit(15, 1)}},
    # a quote or a book takes two calls (the market for its tokens, then the token)
    planner=PlannerProfile(budget_endpoint=("url", "*"), cost={"quotes": 2, "books": 2}),
    settings=VenueSettingsSpec(
        env_prefix="OPINION",
        urls={
            "url": "https://proxy.opinion.trade:8443/openapi",
            "ws_url": "wss://ws.opinion.trade",
        },
        top_n=20,
        secrets=("api_key",),
        top_n_env="OPINIONTRADE_TOP_N",  # the name existing deployments already set
        top_volume_floor_usd=1_000.0,
    ),
    # takers only: volume × p × (1 − p) × r with a per-market base rate r (4 %, so
    # at most 1 % at p = 0.5), and at least $0.25 a trade
    fees=FeeModel("quadratic", 0.04, minimum=0.25),
    links=LinkTemplates(
        market="https://app.opinion.trade/detail?topicId={market_id}",
        event="https://app.opinion.trade/detail?topicId={event_id}&type=multi",
    ),
)
