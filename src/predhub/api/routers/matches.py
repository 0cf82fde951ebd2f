"""Cross-venue matches: the review list, one market's matches, and people's decisions.

Confirming or rejecting needs an admin key (checked once, by `AccessMiddleware`,
as for the admin routes); a decision always wins over the matcher and survives
its reruns.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from predhub.api.deps import MarketIdPath, ServiceDep
from predhub.api.errors import ERROR_RESPONSES, ApiError, ErrorBody
from predhub.api.pagination import decode_cursor, encode_cursor
from predhub.api.responses import json_response
from predhub.api.venue_param import VenueName, venue_value

router = APIRouter(tags=["matches"], responses=ERROR_RESPONSES)


class Decision(BaseModel):
    decided_by: str | None = Field(
        None, min_length=1, max_length=200, description="Who decides (default: admin)"
    )
    note: str | None = Field(None, max_length=2000, description="Why, kept in the match's notes")


@router.get("/v1/matches", summary="Cross-venue matches, best first")
async def list_matches(
    service: ServiceDep,
    status: Annotated[Literal["proposed", "confirmed", "rejected"] | None, Query()] = None,
    venue: Annotated[VenueName | None, Query(description="Either side's venue")] = None,
    min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    after: tuple[float, int] | None = None
    if cursor:
        raw_conf, raw_id = decode_cursor(cursor, "matches", 2)
        if not isinstance(raw_conf, int | float) or not isinstance(raw_id, int):
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
        after = (float(raw_conf), raw_id)
    rows = await service.matches.page(
        status=status,
        venue=venue_value(venue),
        min_confidence=min_confidence,
        limit=limit + 1,
        after=after,
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        next_cursor = encode_cursor("matches", page[-1]["confidence_raw"], page[-1]["id"])
    for row in page:
        row.pop("confidence_raw", None)
    return json_response({"data": page, "next_cursor": next_cursor})


@router.get("/v1/markets/{market_id}/matches", summary="The matches one market takes part in")
async def market_matches(market_id: MarketIdPath, service: ServiceDep) -> Response:
    resolved = await service.resolve_one(market_id)
    rows = await service.matches.for_market(resolved)
    for row in rows:
        row.pop("confidence_raw", None)
    return json_response({"market_id": resolved, "data": rows})


async def _decide(
    service: ServiceDep,
    match_id: int,
    decision: Literal["confirm", "reject"],
    body: Decision | None,
) -> Response:
    who = (body.decided_by if body and body.decided_by else "admin").strip() or "admin"
    doc = await service.matches.decide(match_id, decision, who, body.note if body else None)
    doc.pop("confidence_raw", None)
    return json_response(doc)


MatchId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The match's id")]
_DECIDE_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Missing or wrong admin key"},
    404: {"model": ErrorBody, "description": "No such match"},
    409: {"model": ErrorBody, "description": "Already decided by another person"},
}


@router.post(
    "/v1/matches/{match_id}/confirm", summary="Confirm a match", responses=_DECIDE_RESPONSES
)
async def confirm(
    service: ServiceDep,
    match_id: MatchId,
    body: Annotated[Decision | None, Body()] = None,
) -> Response:
    return await _decide(service, match_id, "confirm", body)


@router.post("/v1/matches/{match_id}/reject", summary="Reject a match", responses=_DECIDE_RESPONSES)
async def reject(
    service: ServiceDep,
    match_id: MatchId,
    body: Annotated[Decision | None, Body()] = None,
) -> Response:
    return await _decide(service, match_id, "reject", body)
