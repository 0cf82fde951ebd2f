"""`GET /api/polymarket/price`: the route apps are moving off, answered database-first.

It keeps the response shape those apps parse (`outcomes`, `outcomePrices`
as strings in outcome order, `closed`, resolution, metadata), so switching an
app over changes its data source and nothing else. `maxAgeSeconds` defaults
to 0 (always refresh, as the old route did), now single-flighted and written
back.

`POST /api/markets/prices` is the batch form apps move to once per page load:
`{"conditionIds": [...], "tier": "T2b"}` (or `"maxAgeSeconds"`), answered with
each condition id's market in the same shape, from one read of the database
and one single-flighted refresh per venue for the stale ones. Given neither,
it means what the single route means without `maxAgeSeconds` (0: refresh the
open markets), so moving N single calls to one batch changes no answer; apps
that can take cached prices say so with a tier, as they would per call.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from predhub.api.deps import ServiceDep
from predhub.api.errors import ERROR_RESPONSES
from predhub.api.responses import json_response
from predhub.api.schemas import LegacyBatchPrices, LegacyPrice
from predhub.service.service import MAX_BATCH_IDS
from predhub.service.tiers import Freshness

router = APIRouter(tags=["compatibility"], responses=ERROR_RESPONSES)
# The old route refreshed on every call; its `maxAgeSeconds` still defaults to that.
LEGACY_MAX_AGE = 0.0


def _price_text(outcome: dict[str, Any]) -> str:
    for name in ("price", "mid", "last"):
        value = outcome.get(name)
        if value is not None:
            return format(value, "g")
    return "0"


def legacy_market(doc: dict[str, Any]) -> dict[str, Any]:
    outcomes = doc["outcomes"]
    resolution = doc.get("resolution") or {}
    winner = resolution.get("winning_outcome")
    labels = [o["label"] for o in outcomes]
    first = outcomes[0] if outcomes else {}
    return {
        "conditionId": doc.get("condition_id"),
        "question": doc["question"],
        "slug": doc.get("slug"),
        "outcomes": labels,
        "outcomePrices": [_price_text(o) for o in outcomes],
        "closed": doc["status"] != "open",
        "resolved": doc["status"] in ("resolved", "voided"),
        "resolvedOutcome": labels[winner]
        if isinstance(winner, int) and winner < len(labels)
        else None,
        "endDate": doc.get("end_at"),
        "volume": doc.get("volume_total"),
        "volume24hr": doc.get("volume_24h"),
        "liquidity": doc.get("liquidity"),
        "bestBid": first.get("best_bid"),
        "bestAsk": first.get("best_ask"),
        "lastPriceUpdatedAt": doc.get("fetched_at"),
        "cached": doc["cache"] != "refreshed",
        "stale": doc["stale"],
        "staleReason": doc.get("stale_reason"),
    }


@router.get(
    "/api/polymarket/price",
    response_model=LegacyPrice,
    summary="Legacy Polymarket price route (the old route's response shape)",
)
async def legacy_price(
    service: ServiceDep,
    conditionId: Annotated[str, Query(min_length=1, max_length=256)],
    maxAgeSeconds: Annotated[float, Query(ge=0, le=1e9)] = LEGACY_MAX_AGE,
) -> Response:
    answer = await service.price(conditionId, Freshness("custom", maxAgeSeconds))
    doc = orjson.loads(answer.body or b"{}")
    return json_response({"success": True, "market": legacy_market(doc)})


class LegacyBatchRequest(BaseModel):
    conditionIds: list[str] = Field(
        min_length=1,
        max_length=MAX_BATCH_IDS,
        description=f"Up to {MAX_BATCH_IDS} condition ids (any market id form is accepted)",
    )
    tier: str | None = Field(
        None,
        max_length=32,
        description="Freshness tier (T1, T2a, T2b, T3, T4). With neither tier nor "
        "maxAgeSeconds, every open market is refreshed (maxAgeSeconds 0), as the single "
        "route does by default",
    )
    maxAgeSeconds: float | None = Field(
        None, ge=0, le=1e9, description="Maximum age in seconds; overrides the tier"
    )


@router.post(
    "/api/markets/prices",
    response_model=LegacyBatchPrices,
    summary="Legacy batch of prices: each condition id in the single route's market shape",
)
async def legacy_batch_prices(
    service: ServiceDep, request: Annotated[LegacyBatchRequest, Body()]
) -> Response:
    max_age = request.maxAgeSeconds
    if max_age is None and request.tier is None:
        max_age = LEGACY_MAX_AGE  # the single route's default: a batch is N of its calls
    freshness = await service.freshness(request.tier, max_age)
    keys = list(dict.fromkeys(key.strip() for key in request.conditionIds))
    answers = await service.prices(keys, freshness)
    markets: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for key, answer in zip(keys, answers, strict=True):
        if answer.body is not None:
            markets[key] = legacy_market(orjson.loads(answer.body))
        else:
            err = answer.error
            errors[key] = {
                "code": err.code if err else "not_found",
                "message": err.message if err else "not found",
                "details": {},
            }
    return json_response({"success": True, "markets": markets, "errors": errors})
