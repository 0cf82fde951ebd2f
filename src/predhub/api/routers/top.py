"""Top markets per venue (seed 000's top-N with volume floors) and venues with their freshness."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from predhub.api.deps import PoolDep, ServiceDep, StateDep
from predhub.api.errors import ERROR_RESPONSES
from predhub.api.responses import json_response
from predhub.api.routers.markets import documents
from predhub.api.schemas import TopMarkets, Venues
from predhub.service.payload import iso
from predhub.settings import VENUE_NAMES, Settings

router = APIRouter(tags=["venues"], responses=ERROR_RESPONSES)


def venue_top_n(settings: Settings) -> dict[str, int]:
    """Seed 000's per-venue N (OPINIONTRADE_TOP_N is the opinion venue's)."""
    return {
        "polymarket": settings.polymarket_top_n,
        "kalshi": settings.kalshi_top_n,
        "limitless": settings.limitless_top_n,
        "opinion": settings.opiniontrade_top_n,
    }


TOP_SQL = """
SELECT id, venue FROM (
    SELECT m.id, m.venue, m.volume_24h,
           row_number() OVER (PARTITION BY m.venue ORDER BY m.volume_24h DESC NULLS LAST, m.id)
               AS venue_rank
    FROM silver.markets m
    WHERE m.status = 'open' AND m.venue = ANY($1::text[])
      AND coalesce(m.volume_24h, m.volume_total, 0) >= $2
) ranked
WHERE venue_rank <= ($3::jsonb ->> venue)::int
ORDER BY volume_24h DESC NULLS LAST, id
LIMIT $4
"""


@router.get("/v1/top", response_model=TopMarkets, summary="Top markets per venue")
async def top_markets(
    state: StateDep,
    service: ServiceDep,
    pool: PoolDep,
    venue: Annotated[
        Literal["polymarket", "kalshi", "limitless", "opinion"] | None, Query()
    ] = None,
    n: Annotated[
        int | None, Query(ge=1, le=1000, description="Per venue; default settings")
    ] = None,
    min_volume: Annotated[
        float | None, Query(ge=0, le=1e15, description="Default MIN_VOLUME_USD")
    ] = None,
) -> Response:
    settings = state.settings
    venues = [venue] if venue else [v for v in settings.venues if v in VENUE_NAMES]
    per_venue = venue_top_n(settings)
    if n is not None:
        per_venue = dict.fromkeys(per_venue, n)
    floor = settings.min_volume_usd if min_volume is None else min_volume
    overall = max(settings.top_n_markets, n or 0) if venue is None else (n or per_venue[venue])
    rows = await pool.fetch(TOP_SQL, venues, floor, per_venue, overall)
    docs = await documents(service, [int(r["id"]) for r in rows])
    grouped: dict[str, list[object]] = {v: [] for v in venues}
    for doc in docs:
        grouped.setdefault(doc["venue"], []).append(doc)
    return json_response({"venues": grouped, "min_volume_usd": floor})


VENUES_SQL = """
SELECT m.venue,
       count(*) AS markets,
       count(*) FILTER (WHERE m.status = 'open') AS open_markets,
       max(m.quotes_synced_at) AS newest_quote_at,
       max(m.metadata_synced_at) AS newest_metadata_at,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM now() - m.quotes_synced_at))
           FILTER (WHERE m.status = 'open') AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM now() - m.quotes_synced_at))
           FILTER (WHERE m.status = 'open') AS p90,
       count(*) FILTER (WHERE m.interest_at > now() - make_interval(mins => $1)) AS hot
FROM silver.markets m
GROUP BY m.venue
"""


@router.get("/v1/venues", response_model=Venues, summary="Venues and how fresh their data is")
async def venues(state: StateDep, service: ServiceDep, pool: PoolDep) -> Response:
    settings = state.settings
    rows = {r["venue"]: r for r in await pool.fetch(VENUES_SQL, settings.hot_interest_minutes)}
    out = []
    for name in VENUE_NAMES:
        r = rows.get(name)
        out.append(
            {
                "name": name,
                "enabled": name in settings.venues,
                "markets": int(r["markets"]) if r else 0,
                "open_markets": int(r["open_markets"]) if r else 0,
                "newest_quote_at": iso(r["newest_quote_at"]) if r else None,
                "newest_metadata_at": iso(r["newest_metadata_at"]) if r else None,
                "open_quote_age_p50": round(float(r["p50"]), 3)
                if r and r["p50"] is not None
                else None,
                "open_quote_age_p90": round(float(r["p90"]), 3)
                if r and r["p90"] is not None
                else None,
                "hot_markets": int(r["hot"]) if r else 0,
            }
        )
    tiers = await service.tiers.current(pool)
    return json_response(
        {"venues": out, "tiers": tiers, "database_only_mode": settings.database_only_mode}
    )
