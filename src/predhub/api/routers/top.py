"""Top markets per venue (the top N by 24 h volume, above a volume floor) and venues with their freshness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from predhub.api.deps import ServiceDep, StateDep
from predhub.api.errors import ERROR_RESPONSES
from predhub.api.responses import json_response
from predhub.api.routers.markets import documents
from predhub.api.schemas import TopMarkets, Venues
from predhub.api.venue_param import VenueName, venue_value
from predhub.service.payload import iso
from predhub.settings import VENUE_NAMES, Settings

router = APIRouter(tags=["venues"], responses=ERROR_RESPONSES)


def venue_top_n(settings: Settings) -> dict[str, int]:
    """Seed 000's per-venue N, each venue's `<PREFIX>_TOP_N` setting."""
    return {name: settings.venue(name).top_n for name in VENUE_NAMES}


@router.get("/v1/top", response_model=TopMarkets, summary="Top markets per venue")
async def top_markets(
    state: StateDep,
    service: ServiceDep,
    venue: Annotated[VenueName | None, Query()] = None,
    n: Annotated[
        int | None, Query(ge=1, le=1000, description="Per venue; default settings")
    ] = None,
    min_volume: Annotated[
        float | None, Query(ge=0, le=1e15, description="Default MIN_VOLUME_USD")
    ] = None,
) -> Response:
    settings = state.settings
    venue = venue_value(venue)
    venues = [venue] if venue else [v for v in settings.venues if v in VENUE_NAMES]
    per_venue = venue_top_n(settings)
    if n is not None:
        per_venue = dict.fromkeys(per_venue, n)
    floor = settings.min_volume_usd if min_volume is None else min_volume
    overall = max(settings.top_n_markets, n or 0) if venue is None else (n or per_venue[venue])
    ids = await service.top_market_ids(venues, floor=floor, per_venue=per_venue, overall=overall)
    docs = await documents(service, ids)
    grouped: dict[str, list[object]] = {v: [] for v in venues}
    for doc in docs:
        grouped.setdefault(doc["venue"], []).append(doc)
    return json_response({"venues": grouped, "min_volume_usd": floor})


@router.get("/v1/venues", response_model=Venues, summary="Venues and how fresh their data is")
async def venues(state: StateDep, service: ServiceDep) -> Response:
    settings = state.settings
    stats = await service.venue_stats(settings.hot_interest_minutes)
    out = []
    for name in VENUE_NAMES:
        r = stats.get(name)
        out.append(
            {
                "name": name,
                "enabled": name in settings.venues,
                "markets": r.markets if r else 0,
                "open_markets": r.open_markets if r else 0,
                "newest_quote_at": iso(r.newest_quote_at) if r else None,
                "newest_metadata_at": iso(r.newest_metadata_at) if r else None,
                "open_quote_age_p50": _rounded(r.open_quote_age_p50) if r else None,
                "open_quote_age_p90": _rounded(r.open_quote_age_p90) if r else None,
                "hot_markets": r.hot_markets if r else 0,
            }
        )
    tiers = await service.tier_table()
    return json_response(
        {"venues": out, "tiers": tiers, "database_only_mode": settings.database_only_mode}
    )


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)
