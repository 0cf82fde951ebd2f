"""History: candles over a range, trades with a cursor, order books now or then, price at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from predhub.api.deps import MarketIdPath, ServiceDep
from predhub.api.errors import ERROR_RESPONSES, ApiError
from predhub.api.export import EXPORT_CONTENT, FormatQuery, export_format, stream
from predhub.api.pagination import decode_cursor, encode_cursor
from predhub.api.responses import json_response
from predhub.api.schemas import Books, History, PriceAt, TradePage
from predhub.service import candles, export
from predhub.service.candles import Interval, RangeName
from predhub.service.payload import iso, number
from predhub.service.when import FORMS, When

TIME_FORMS = f"Accepts {FORMS}."

router = APIRouter(prefix="/v1/markets", tags=["history"], responses=ERROR_RESPONSES)


OutcomeQuery = Annotated[int, Query(ge=0, le=255, description="Outcome index")]


@router.get(
    "/{market_id}/history",
    response_model=History,
    summary="Price candles",
    responses=EXPORT_CONTENT,
)
async def history(
    market_id: MarketIdPath,
    service: ServiceDep,
    request: Request,
    interval: Annotated[
        Interval, Query(description="Candle width; each has a default and a largest range")
    ] = "1h",
    range_name: Annotated[
        RangeName | None,
        Query(alias="range", description="How far back from end (instead of start)"),
    ] = None,
    start: Annotated[
        When | None,
        Query(description="Default: end minus the interval's default range. " + TIME_FORMS),
    ] = None,
    end: Annotated[When | None, Query(description="Default: now. " + TIME_FORMS)] = None,
    outcome: OutcomeQuery = 0,
    fill: Annotated[
        bool, Query(description="Fill gaps with the previous close and zero volume")
    ] = False,
    fmt: FormatQuery = None,
) -> Response:
    resolved = await service.resolve_one(market_id)
    if start is not None and range_name is not None:
        raise ApiError(400, "bad_request", "give start or range, not both")
    # a range the interval does not allow is the service's 400, naming the largest it does
    start_at, end_at = candles.window(
        interval,
        start=start,
        end=end,
        range_name=range_name,
    )
    found = await service.candles(
        resolved, interval=interval, outcome=outcome, start=start_at, end=end_at, fill=fill
    )
    export_as = export_format(request, fmt)
    if export_as is not None:
        rows = (
            {
                "t": c.t,
                "open": c.open,
                "high": c.high,
                "low": c.low,
                "close": c.close,
                "volume": c.volume,
                "points": c.points,
            }
            for c in found
        )
        name = f"candles-{resolved}-{outcome}-{interval}"
        return stream(request, export_as, name, export.encode_rows(rows, export.CANDLES, export_as))
    data = [
        {
            "t": iso(c.t),
            "open": number(c.open),
            "high": number(c.high),
            "low": number(c.low),
            "close": number(c.close),
            "volume": number(c.volume),
            "points": c.points,
        }
        for c in found
    ]
    return json_response(
        {
            "market_id": resolved,
            "outcome": outcome,
            "interval": interval,
            "start": iso(start_at),
            "end": iso(end_at),
            "candles": data,
        }
    )


@router.get(
    "/{market_id}/trades",
    response_model=TradePage,
    summary="Trades, newest first",
    responses=EXPORT_CONTENT,
)
async def trades(
    market_id: MarketIdPath,
    service: ServiceDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    fmt: FormatQuery = None,
) -> Response:
    resolved = await service.resolve_one(market_id)
    export_as = export_format(request, fmt)
    if export_as is not None:  # all of them, streamed from the database
        return stream(
            request, export_as, f"trades-{resolved}", service.export_trades(resolved, export_as)
        )
    before: tuple[datetime, int] | None = None
    if cursor:
        raw_ts, raw_id = decode_cursor(cursor, "trades", 2)
        if not isinstance(raw_ts, str) or not isinstance(raw_id, int):
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
        try:
            before = (datetime.fromisoformat(raw_ts), raw_id)
        except ValueError as exc:
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request") from exc
    rows = await service.trades(resolved, limit=limit + 1, before=before)
    page = rows[:limit]
    data = [t.document() for t in page]
    next_cursor = None
    if len(rows) > limit and page:
        next_cursor = encode_cursor("trades", iso(page[-1].executed_at), page[-1].id)
    return json_response({"data": data, "next_cursor": next_cursor})


def _levels(raw: object) -> list[dict[str, float]]:
    out: list[dict[str, float]] = []
    if isinstance(raw, list):
        for level in raw:
            if isinstance(level, list | tuple) and len(level) >= 2:
                out.append({"price": float(level[0]), "size": float(level[1])})
            elif isinstance(level, dict) and "price" in level and "size" in level:
                out.append({"price": float(level["price"]), "size": float(level["size"])})
    return out


@router.get("/{market_id}/book", response_model=Books, summary="Order books, now or at a time")
async def book(
    market_id: MarketIdPath,
    service: ServiceDep,
    at: Annotated[
        When | None, Query(description="The latest book at or before this. " + TIME_FORMS)
    ] = None,
) -> Response:
    resolved = await service.resolve_one(market_id)
    when = at
    books = [
        {
            "outcome": b.outcome,
            "observed_at": iso(b.observed_at),
            "best_bid": number(b.best_bid),
            "best_ask": number(b.best_ask),
            "bids": _levels(b.bids),
            "asks": _levels(b.asks),
        }
        for b in await service.books(resolved, when)
    ]
    return json_response({"market_id": resolved, "at": iso(when), "books": books})


@router.get(
    "/{market_id}/price/at", response_model=PriceAt, summary="Each outcome's price at a time"
)
async def price_at(
    market_id: MarketIdPath,
    service: ServiceDep,
    at: Annotated[When, Query(description="The point in time. " + TIME_FORMS)],
) -> Response:
    resolved = await service.resolve_one(market_id)
    when = at
    outcomes = [
        {"outcome": p.outcome, "price": number(p.price), "ts": iso(p.ts), "source": p.source}
        for p in await service.prices_at(resolved, when)
    ]
    return json_response({"market_id": resolved, "at": iso(when), "outcomes": outcomes})
