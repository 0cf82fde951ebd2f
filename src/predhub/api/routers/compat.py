"""`GET /api/polymarket/price`: the route apps are moving off, answered database-first.

It keeps the response shape those apps parse (`outcomes`, `outcomePrices`
as strings in outcome order, `closed`, resolution, metadata), so switching an
app over changes its data source and nothing else. `maxAgeSeconds` defaults
to 0 (always refresh, as the old route did), now single-flighted and written
back.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from predhub.api.deps import ServiceDep
from predhub.api.errors import ERROR_RESPONSES
from predhub.api.responses import json_response
from predhub.api.schemas import LegacyPrice
from predhub.service.tiers import Freshness

router = APIRouter(tags=["compatibility"], responses=ERROR_RESPONSES)


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
    maxAgeSeconds: Annotated[float, Query(ge=0, le=1e9)] = 0,
) -> Response:
    answer = await service.price(conditionId, Freshness("custom", maxAgeSeconds))
    doc = orjson.loads(answer.body or b"{}")
    return json_response({"success": True, "market": legacy_market(doc)})
