"""Markets: list with filters and sorts, detail, outcomes, quote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from predhub.api.deps import MarketIdPath, MaxAgeQuery, ServiceDep, TierQuery
from predhub.api.errors import ERROR_RESPONSES, ApiError
from predhub.api.export import EXPORT_CONTENT, FormatQuery, export_format, stream
from predhub.api.pagination import decode_cursor, encode_cursor
from predhub.api.responses import json_response, price_response
from predhub.api.schemas import MarketDetail, MarketPage, MarketPrice, OutcomeQuote
from predhub.api.venue_param import VenueName, venue_value
from predhub.service import export
from predhub.service.catalog import SORTS, MarketFilter, Sort, SortName
from predhub.service.service import MarketDataService
from predhub.service.when import FORMS, When

router = APIRouter(prefix="/v1/markets", tags=["markets"], responses=ERROR_RESPONSES)

VenueQuery = Annotated[VenueName | None, Query(description="Venue")]
StatusQuery = Annotated[
    Literal["open", "closed", "resolved", "voided"] | None, Query(description="Market status")
]


def _cursor_value(raw: Any, sort: Sort) -> Any:
    if not isinstance(raw, str):
        raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
    try:
        if sort.sql_type == "numeric":
            return Decimal(raw)
        return raw if raw in ("infinity", "-infinity") else datetime.fromisoformat(raw)
    except (InvalidOperation, ValueError) as exc:
        raise ApiError(400, "bad_cursor", "the cursor is not valid for this request") from exc


async def documents(service: MarketDataService, ids: list[int]) -> list[dict[str, Any]]:
    """Market documents in the order of `ids` (through the service's snapshot cache)."""
    snaps = await service.snapshots(ids)
    return [snaps[i].document for i in ids if i in snaps]


EXPORT_PAGE = 500


@router.get("", response_model=MarketPage, summary="List markets", responses=EXPORT_CONTENT)
async def list_markets(
    service: ServiceDep,
    request: Request,
    venue: VenueQuery = None,
    status: StatusQuery = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    event: Annotated[
        str | None, Query(max_length=256, description="Event: our id or its native id")
    ] = None,
    min_volume: Annotated[float | None, Query(ge=0, le=1e15, description="24 h volume")] = None,
    closing_before: Annotated[
        When | None, Query(description=f"End date before; accepts {FORMS}")
    ] = None,
    min_price: Annotated[
        float | None,
        Query(ge=0, le=1, description="First outcome's price at least (as of the gold rollup)"),
    ] = None,
    max_price: Annotated[
        float | None, Query(ge=0, le=1, description="First outcome's price at most")
    ] = None,
    sort: Annotated[
        SortName,
        Query(
            description="A field of the market document, in its natural order (largest "
            "first; end_at soonest first); a leading '-' reverses it. end_date is the old "
            "name of end_at."
        ),
    ] = "volume_24h",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    fmt: FormatQuery = None,
) -> Response:
    after: tuple[Any, int] | None = None
    if cursor:
        raw_key, raw_id = decode_cursor(cursor, f"markets:{sort}", 2)
        if not isinstance(raw_id, int):
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
        after = (_cursor_value(raw_key, SORTS[sort]), raw_id)
    if min_price is not None and max_price is not None and min_price > max_price:
        raise ApiError(400, "bad_request", "min_price is above max_price")
    where = MarketFilter(
        venue_value(venue),
        status,
        category,
        event,
        min_volume,
        closing_before,
        min_price,
        max_price,
    )
    export_as = export_format(request, fmt)
    if export_as is not None:  # every matching market (or `limit` of them, when asked)
        cap = limit if "limit" in request.query_params else None
        pages = _all_pages(service, where, sort, after, cap)
        return stream(request, export_as, "markets", export.encode_documents(pages, export_as))
    rows = await service.market_page(where, sort, limit=limit + 1, after=after)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more and page:
        next_cursor = encode_cursor(f"markets:{sort}", str(page[-1].sort_key), page[-1].id)
    docs = await documents(service, [r.id for r in page])
    return json_response({"data": docs, "next_cursor": next_cursor})


async def _all_pages(
    service: MarketDataService,
    where: MarketFilter,
    sort: SortName,
    after: tuple[Any, int] | None,
    cap: int | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The export's documents, one keyset page at a time, `cap` rows at most when given."""
    left = cap
    while True:
        size = EXPORT_PAGE if left is None else min(EXPORT_PAGE, left)
        rows = await service.market_page(where, sort, limit=size + 1, after=after)
        page = rows[:size]
        yield await documents(service, [r.id for r in page])
        if left is not None:
            left -= len(page)
        if len(rows) <= size or not page or left == 0:
            return
        after = (page[-1].sort_key, page[-1].id)


@router.get("/{market_id}", response_model=MarketDetail, summary="One market, with its rules")
async def market_detail(market_id: MarketIdPath, service: ServiceDep) -> Response:
    resolved = await service.resolve_one(market_id)
    docs = await documents(service, [resolved])
    rules, source = await service.market_rules(resolved)
    return json_response({**docs[0], "rules": rules, "resolution_source": source})


@router.get("/{market_id}/outcomes", response_model=list[OutcomeQuote], summary="Its outcomes")
async def market_outcomes(market_id: MarketIdPath, service: ServiceDep) -> Response:
    resolved = await service.resolve_one(market_id)
    docs = await documents(service, [resolved])
    return json_response(docs[0]["outcomes"])


@router.get(
    "/{market_id}/quote",
    response_model=MarketPrice,
    summary="Its current quote, fresh enough for the tier (or max_age); refreshed if stale",
)
async def market_quote(
    market_id: MarketIdPath,
    service: ServiceDep,
    tier: TierQuery = None,
    max_age: MaxAgeQuery = None,
) -> Response:
    answer = await service.price(market_id, await service.freshness(tier, max_age))
    return price_response(answer.body or b"{}")
