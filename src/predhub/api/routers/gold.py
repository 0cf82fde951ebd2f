"""Pre-computed answers from the gold tables: movers, stats and trending markets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from predhub.api.deps import ServiceDep
from predhub.api.errors import ERROR_RESPONSES, ApiError
from predhub.api.pagination import decode_cursor, encode_cursor
from predhub.api.responses import json_response
from predhub.api.routers.markets import documents
from predhub.api.schemas import Movers, Stats, Trending
from predhub.api.venue_param import VenueName, venue_value
from predhub.service.gold import stamps

router = APIRouter(tags=["gold"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/v1/movers", response_model=Movers, summary="Largest price moves over a window")
async def movers(
    service: ServiceDep,
    window: Annotated[str, Query(max_length=16, description="1h, 24h or 7d")] = "24h",
    limit: Limit = 50,
) -> Response:
    rows = await service.gold.movers(window, limit=limit)
    docs = {d["id"]: d for d in await documents(service, [r["market_id"] for r in rows])}
    data = [{**r, "market": docs.get(r["market_id"])} for r in rows]
    return json_response({"window": window, "data": data, **stamps(rows)})


@router.get(
    "/v1/trending",
    response_model=Trending,
    summary="Markets whose trading grew most against the day before",
)
async def trending(service: ServiceDep, limit: Limit = 50) -> Response:
    rows = await service.gold.trending(limit=limit)
    docs = {d["id"]: d for d in await documents(service, [r["market_id"] for r in rows])}
    data = [{**r, "market": docs.get(r["market_id"])} for r in rows]
    return json_response({"data": data, **stamps(rows)})


@router.get(
    "/v1/stats", response_model=Stats, summary="Counts, open interest, volume, share and freshness"
)
async def stats(service: ServiceDep) -> Response:
    found = await service.gold.stats()
    return json_response({**found, **stamps(found["venues"] + found["categories"])})


def _after(cursor: str, kind: str) -> tuple[Decimal | datetime, int]:
    raw_key, raw_id = decode_cursor(cursor, kind, 2)
    if not isinstance(raw_key, str) or not isinstance(raw_id, int):
        raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
    try:
        key: Decimal | datetime = (
            datetime.fromisoformat(raw_key) if kind.endswith("closed") else Decimal(raw_key)
        )
    except (ValueError, InvalidOperation) as exc:
        raise ApiError(400, "bad_cursor", "the cursor is not valid for this request") from exc
    return key, raw_id


@router.get("/v1/arbitrage", summary="Arbitrage opportunities after fees and depth")
async def arbitrage(
    service: ServiceDep,
    min_edge: Annotated[
        float, Query(ge=0, le=1, description="Least profit per contract after fees, in dollars")
    ] = 0.0,
    min_size: Annotated[float, Query(ge=0, description="Least size (contracts)")] = 0.0,
    venue: Annotated[VenueName | None, Query(description="Only with a leg on this venue")] = None,
    status: Annotated[
        Literal["open", "closed"], Query(description="open (best edge first) or closed (history)")
    ] = "open",
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Covering legs on matched markets (and exclusive sets) that pay more than they cost.

    Each opportunity carries its edge per contract after fees, the largest size
    with a positive edge, the profit there, its legs (venue, market, outcome,
    side, price, size, as_of) and its risks. `as_of` is the oldest leg's
    observation among the rows, `refreshed_at` when they were last priced.
    """
    kind = f"arbitrage:{status}"
    after = _after(cursor, kind) if cursor else None
    rows = await service.gold.arbitrage(
        closed=status == "closed",
        min_edge=min_edge,
        min_size=min_size,
        venue=venue_value(venue),
        after=after,
        limit=limit + 1,
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        key = last["closed_at"] if status == "closed" else repr(last["edge"])
        next_cursor = encode_cursor(kind, str(key), int(last["id"]))
    as_of = [r["as_of"] for r in page if r.get("as_of")]
    seen = [r["last_seen"] for r in page if r.get("last_seen")]
    return json_response(
        {
            "data": page,
            "next_cursor": next_cursor,
            "as_of": min(as_of) if as_of else None,
            "refreshed_at": max(seen) if seen else None,
        }
    )
