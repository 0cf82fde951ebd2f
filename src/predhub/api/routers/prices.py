"""Prices with a freshness tier: one market, a live refresh, and the batch of up to 1,000."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from predhub.api.deps import MarketIdPath, MaxAgeQuery, ServiceDep, TierQuery
from predhub.api.errors import ERROR_RESPONSES
from predhub.api.responses import price_response, raw_json
from predhub.api.schemas import BatchPrices, MarketKey, MarketPrice
from predhub.service.payload import render_map
from predhub.service.service import MAX_BATCH_IDS, MarketDataService
from predhub.service.tiers import Freshness

router = APIRouter(tags=["prices"], responses=ERROR_RESPONSES)

_PRICE_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": MarketPrice, "description": "The market with its freshness"}
}


@router.get(
    "/v1/markets/{market_id}/price",
    responses=_PRICE_DOC,
    summary="Current price, fresh enough for the tier (or max_age)",
)
async def price(
    market_id: MarketIdPath, request: Request, tier: TierQuery = None, max_age: MaxAgeQuery = None
) -> Response:
    # The hottest route: the service is taken from the app state directly rather than
    # through a chain of dependencies, which costs measurable time per request.
    service: MarketDataService = request.app.state.api.service
    answer = await service.price(market_id, await service.freshness(tier, max_age))
    return price_response(answer.body or b"{}")


@router.get(
    "/v1/markets/{market_id}/price/live",
    responses=_PRICE_DOC,
    summary="Price straight from the venue (still written back); the refresh button",
)
async def live_price(market_id: MarketIdPath, service: ServiceDep) -> Response:
    answer = await service.price(market_id, Freshness("live", 0.0), live=True)
    return price_response(answer.body or b"{}")


class BatchRequest(BaseModel):
    ids: list[MarketKey] = Field(
        min_length=1,
        description=f"Up to {MAX_BATCH_IDS} market ids of any form (our ids also as numbers)",
    )
    tier: str | None = Field(None, max_length=32)
    max_age: float | None = Field(None, ge=0, le=1e9)


@router.post(
    "/v1/prices",
    responses={200: {"model": BatchPrices, "description": "Each id to its market or its error"}},
    summary="Prices of many markets at once",
)
async def batch_prices(service: ServiceDep, request: Annotated[BatchRequest, Body()]) -> Response:
    freshness = await service.freshness(request.tier, request.max_age)
    keys = [str(i) for i in request.ids]  # answers are keyed by the id's text either way
    answers = await service.prices(keys, freshness)
    items: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for original, answer in zip(keys, answers, strict=True):
        if original in seen:
            continue
        seen.add(original)
        if answer.body is not None:
            items.append((original, answer.body))
        else:
            err = answer.error
            code = err.code if err else "not_found"
            message = err.message if err else "not found"
            items.append((original, _error_bytes(code, message)))
    return raw_json(b'{"prices":' + render_map(items) + b"}")


def _error_bytes(code: str, message: str) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": {}}})
