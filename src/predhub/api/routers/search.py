"""Full-text search across venues, ranked by relevance then 24 h volume.

The service ranks candidates, not every match (`SEARCH_*` in
`predhub.service.catalog`): each query word's busiest markets, read by key
from a per-word list (question before event title, then busiest first), and
the text index only when those hold fewer matches than the page's end, so a
word costs a page's work, not its match count.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from predhub.api.deps import ServiceDep
from predhub.api.errors import ERROR_RESPONSES, ApiError
from predhub.api.pagination import decode_cursor, encode_cursor
from predhub.api.responses import json_response
from predhub.api.routers.markets import documents
from predhub.api.schemas import SearchPage
from predhub.api.venue_param import VenueName, venue_value

router = APIRouter(prefix="/v1/search", tags=["search"], responses=ERROR_RESPONSES)

MAX_OFFSET = 10_000


@router.get("", response_model=SearchPage, summary="Search markets by text")
async def search(
    service: ServiceDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="Words to look for in market questions and event titles",
        ),
    ],
    venue: Annotated[VenueName | None, Query()] = None,
    status: Annotated[Literal["open", "closed", "resolved", "voided", "any"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    venue = venue_value(venue)
    offset = 0
    if cursor:
        (raw,) = decode_cursor(cursor, "search", 1)
        if not isinstance(raw, int) or not 0 <= raw <= MAX_OFFSET:
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
        offset = raw
    rows = await service.search(
        q,
        venue=venue,
        status=None if status == "any" else status,
        limit=limit + 1,
        offset=offset,
    )
    page = rows[:limit]
    ranks = {r.id: r.rank for r in page}
    docs = [{**doc, "rank": ranks[doc["id"]]} for doc in await documents(service, list(ranks))]
    next_cursor = None
    if len(rows) > limit and offset + limit <= MAX_OFFSET:
        next_cursor = encode_cursor("search", offset + limit)
    return json_response({"data": docs, "next_cursor": next_cursor})
