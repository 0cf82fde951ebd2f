"""Events: list, and one event with its markets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from predhub.api.deps import ServiceDep
from predhub.api.errors import ERROR_RESPONSES, ApiError
from predhub.api.pagination import decode_cursor, encode_cursor
from predhub.api.responses import json_response
from predhub.api.routers.markets import documents
from predhub.api.schemas import EventDetail, EventPage
from predhub.api.venue_param import VenueName, venue_value

router = APIRouter(prefix="/v1/events", tags=["events"], responses=ERROR_RESPONSES)


@router.get("", response_model=EventPage, summary="List events, by total volume")
async def list_events(
    service: ServiceDep,
    venue: Annotated[VenueName | None, Query()] = None,
    status: Annotated[Literal["open", "closed", "resolved", "voided"] | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    venue = venue_value(venue)
    after: tuple[float, int] | None = None
    if cursor:
        raw_key, raw_id = decode_cursor(cursor, "events", 2)
        if not isinstance(raw_key, int | float) or not isinstance(raw_id, int):
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
        after = (float(raw_key), raw_id)
    rows = await service.event_page(
        venue=venue, status=status, category=category, limit=limit + 1, after=after
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        last, sort_key = page[-1]
        next_cursor = encode_cursor("events", sort_key, int(last["id"]))
    return json_response({"data": [doc for doc, _ in page], "next_cursor": next_cursor})


@router.get("/{event_id}", response_model=EventDetail, summary="One event with its markets")
async def event_detail(
    service: ServiceDep,
    event_id: Annotated[
        str, Path(min_length=1, max_length=256, description="Our id, venue:native_id, or slug")
    ],
) -> Response:
    key = event_id.strip()
    doc = await service.event(key)
    if doc is None:
        raise ApiError(404, "not_found", f"no event matches id {key!r}", id=key)
    doc["markets"] = await documents(service, await service.event_market_ids(int(doc["id"])))
    aggregates = await service.gold.event(int(doc["id"]))
    doc["aggregates"] = aggregates
    doc["as_of"] = aggregates["as_of"] if aggregates else None
    doc["refreshed_at"] = aggregates["refreshed_at"] if aggregates else None
    return json_response(doc)
