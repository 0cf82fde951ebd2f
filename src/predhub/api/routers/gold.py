"""Pre-computed answers from the gold tables: movers, stats and trending markets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from predhub.api.deps import ServiceDep
from predhub.api.errors import ERROR_RESPONSES
from predhub.api.responses import json_response
from predhub.api.routers.markets import documents
from predhub.service.gold import stamps

router = APIRouter(tags=["gold"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/v1/movers", summary="Largest price moves over a window")
async def movers(
    service: ServiceDep,
    window: Annotated[str, Query(max_length=16, description="1h, 24h or 7d")] = "24h",
    limit: Limit = 50,
) -> Response:
    rows = await service.gold.movers(window, limit=limit)
    docs = {d["id"]: d for d in await documents(service, [r["market_id"] for r in rows])}
    data = [{**r, "market": docs.get(r["market_id"])} for r in rows]
    return json_response({"window": window, "data": data, **stamps(rows)})


@router.get("/v1/trending", summary="Markets whose trading grew most against the day before")
async def trending(service: ServiceDep, limit: Limit = 50) -> Response:
    rows = await service.gold.trending(limit=limit)
    docs = {d["id"]: d for d in await documents(service, [r["market_id"] for r in rows])}
    data = [{**r, "market": docs.get(r["market_id"])} for r in rows]
    return json_response({"data": data, **stamps(rows)})


@router.get("/v1/stats", summary="Counts, open interest, volume, share and freshness")
async def stats(service: ServiceDep) -> Response:
    found = await service.gold.stats()
    return json_response({**found, **stamps(found["venues"] + found["categories"])})
