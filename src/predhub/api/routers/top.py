"""Top markets per venue (the top N by 24 h volume, above a volume floor) and venues with their freshness."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from predhub.api.deps import ServiceDep, StateDep
from predhub.api.errors import ERROR_RESPONSES
from predhub.api.responses import json_response
from predhub.api.schemas import TopMarkets, Venues
from predhub.api.venue_param import VenueName, venue_value
from predhub.service.gold import stamps
from predhub.service.payload import iso
from predhub.settings import VENUE_NAMES

router = APIRouter(tags=["venues"], responses=ERROR_RESPONSES)

# Each market is a full snapshot document (about 0.8 KB): every venue's whole ranking
# (TOP_N_MARKETS and each venue's top-N, up to a thousand markets) was an answer of
# about 800 KB that a page showing ten did not need; twenty a list is about 80 KB.
TOP_N_DEFAULT = 20
TOP_N_MAX = 100


@router.get("/v1/top", response_model=TopMarkets, summary="Top markets per venue")
async def top_markets(
    state: StateDep,
    service: ServiceDep,
    venue: Annotated[VenueName | None, Query()] = None,
    n: Annotated[
        int,
        Query(
            ge=1,
            le=TOP_N_MAX,
            description=f"Markets per venue and overall (at most {TOP_N_MAX}, and at most"
            " the worker's own top-N: TOP_N_MARKETS, <VENUE>_TOP_N)",
        ),
    ] = TOP_N_DEFAULT,
    min_volume: Annotated[
        float | None,
        Query(ge=0, le=1e15, description="Above each venue's own floor; default none"),
    ] = None,
) -> Response:
    """The worker's top-markets snapshot: per venue by 24 h volume above the venue's floor
    (TOP_VOLUME_FLOORS), and across venues; the first `n` of each (20 unless asked, at
    most 100: past that a 422 names the limit)."""
    settings = state.settings
    venue = venue_value(venue)
    venues = [venue] if venue else [v for v in settings.venues if v in VENUE_NAMES]
    per_venue = settings.venue_top_n()
    floor = min_volume or 0.0
    limits = {name: min(n, per_venue.get(name, 0)) for name in venues}
    if venue is None:
        # `n` bounds the overall list too (a page asking for ten gets ten, not 500)
        limits["*"] = min(n, settings.top_n_markets)
    scopes = await service.gold.top_scopes(limits, min_volume=floor)
    if not any(scopes.values()):
        # no gold refresh has ranked anything yet (a new hub's first minute): rank
        # silver's open markets by the venue's volume index instead
        scopes = await _from_silver(state, service, limits, floor)
    ids = {name: [int(r["market_id"]) for r in found] for name, found in scopes.items()}
    # one snapshot read for every scope's markets
    snaps = await service.snapshots({i for scope_ids in ids.values() for i in scope_ids})
    docs = {
        name: [snaps[i].document for i in scope_ids if i in snaps]
        for name, scope_ids in ids.items()
    }
    overall = docs.pop("*", [])
    rows: list[dict[str, Any]] = [r for found in scopes.values() for r in found]
    return json_response(
        {"venues": docs, "overall": overall, "min_volume_usd": floor, **stamps(rows)}
    )


async def _from_silver(
    state: StateDep,
    service: ServiceDep,
    limits: dict[str, int],
    floor: float,
) -> dict[str, list[dict[str, Any]]]:
    """The top scopes ranked from silver (the same order, floors and `limits` as the gold
    snapshot, stamped with each market's own `as_of`), for when gold is still empty;
    the overall scope ("*") when `limits` names it."""
    settings = state.settings
    venues = [name for name in limits if name != "*"]
    found = {name: await service.top_open_market_ids(name, limits[name]) for name in venues}
    snaps = await service.snapshots({i for ids in found.values() for i in ids})
    scopes: dict[str, list[dict[str, Any]]] = {}
    for name, ids in found.items():
        least = max(floor, settings.top_volume_floor(name))
        scopes[name] = [
            {"market_id": i, "volume_24h": vol, "as_of": snaps[i].document.get("as_of")}
            for i in ids
            if i in snaps and (vol := snaps[i].document.get("volume_24h") or 0) >= least
        ]
    if "*" in limits:
        every = sorted(
            (r for rows in scopes.values() for r in rows),
            key=lambda r: (-float(r["volume_24h"]), r["market_id"]),
        )
        scopes["*"] = every[: limits["*"]]
    return scopes


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
                "newest_trade_at": iso(r.newest_trade_at) if r else None,
                "measured_at": iso(r.measured_at) if r else None,
                "refreshed_at": iso(r.refreshed_at) if r else None,
            }
        )
    tiers = await service.tier_table()
    return json_response(
        {"venues": out, "tiers": tiers, "database_only_mode": settings.database_only_mode}
    )


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)
