"""Markets: list with filters and sorts, detail, outcomes, quote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from predhub.api.deps import MarketIdPath, MaxAgeQuery, PoolDep, ServiceDep, TierQuery
from predhub.api.errors import ERROR_RESPONSES, ApiError
from predhub.api.pagination import decode_cursor, encode_cursor
from predhub.api.responses import json_response, raw_json
from predhub.api.schemas import Market, MarketPage, MarketPrice, OutcomeQuote
from predhub.service.ids import ascii_int
from predhub.service.service import MarketDataService

router = APIRouter(prefix="/v1/markets", tags=["markets"], responses=ERROR_RESPONSES)

VenueQuery = Annotated[
    Literal["polymarket", "kalshi", "limitless", "opinion"] | None, Query(description="Venue")
]
StatusQuery = Annotated[
    Literal["open", "closed", "resolved", "voided"] | None, Query(description="Market status")
]
SortName = Literal["volume_24h", "liquidity", "end_date", "change_24h"]

CHANGE_24H = """(
    (SELECT q.price FROM silver.outcomes o JOIN silver.quotes q ON q.outcome_id = o.id
      WHERE o.market_id = m.id AND o.idx = 0)
  - (SELECT ph.price FROM silver.outcomes o JOIN silver.price_history ph ON ph.outcome_id = o.id
      WHERE o.market_id = m.id AND o.idx = 0 AND ph.ts <= now() - interval '24 hours'
      ORDER BY ph.ts DESC LIMIT 1))"""


@dataclass(frozen=True)
class Sort:
    expr: str  # never NULL, so keyset comparisons are total
    sql_type: str
    descending: bool


SORTS: dict[str, Sort] = {
    "volume_24h": Sort("coalesce(m.volume_24h, -1)", "numeric", True),
    "liquidity": Sort("coalesce(m.liquidity, -1)", "numeric", True),
    "end_date": Sort("coalesce(m.end_at, 'infinity'::timestamptz)", "timestamptz", False),
    "change_24h": Sort(f"coalesce({CHANGE_24H}, -2)", "numeric", True),
}


class Filters:
    """WHERE clauses with numbered parameters, built one filter at a time."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def add(self, clause: str, *values: Any) -> None:
        for value in values:
            self.args.append(value)
            clause = clause.replace("?", f"${len(self.args)}", 1)
        self.clauses.append(clause)

    def where(self) -> str:
        return ("WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


def _cursor_value(raw: Any, sort: Sort) -> Any:
    if not isinstance(raw, str):
        raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
    try:
        if sort.sql_type == "numeric":
            return Decimal(raw)
        return raw if raw == "infinity" else datetime.fromisoformat(raw)
    except (InvalidOperation, ValueError) as exc:
        raise ApiError(400, "bad_cursor", "the cursor is not valid for this request") from exc


async def documents(service: MarketDataService, ids: list[int]) -> list[dict[str, Any]]:
    """Market documents in the order of `ids` (through the service's snapshot cache)."""
    snaps = await service.snapshots(ids)
    return [snaps[i].document for i in ids if i in snaps]


@router.get("", response_model=MarketPage, summary="List markets")
async def list_markets(
    service: ServiceDep,
    pool: PoolDep,
    venue: VenueQuery = None,
    status: StatusQuery = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    event: Annotated[
        str | None, Query(max_length=256, description="Event: our id or its native id")
    ] = None,
    min_volume: Annotated[float | None, Query(ge=0, le=1e15, description="24 h volume")] = None,
    closing_before: Annotated[datetime | None, Query(description="End date before")] = None,
    sort: Annotated[SortName, Query()] = "volume_24h",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    spec = SORTS[sort]
    f = Filters()
    if venue:
        f.add("m.venue = ?", venue)
    if status:
        f.add("m.status = ?", status)
    if category:
        f.add("lower(m.category) = lower(?)", category)
    if event:
        number = ascii_int(event)
        if number is not None:
            f.add("(m.event_id = ?::bigint OR m.event_native_id = ?)", number, event)
        else:
            f.add("m.event_native_id = ?", event)
    if min_volume is not None:
        f.add("m.volume_24h >= ?", Decimal(str(min_volume)))
    if closing_before is not None:
        if closing_before.tzinfo is None:
            raise ApiError(400, "bad_request", "closing_before needs a time zone, e.g. Z")
        f.add("m.end_at < ?", closing_before)
    if cursor:
        raw_key, raw_id = decode_cursor(cursor, f"markets:{sort}", 2)
        if not isinstance(raw_id, int):
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
        key = _cursor_value(raw_key, spec)
        op = "<" if spec.descending else ">"
        f.add(f"({spec.expr}, m.id) {op} (?::{spec.sql_type}, ?::bigint)", key, raw_id)
    order = "DESC" if spec.descending else "ASC"
    f.args.append(limit + 1)
    sql = (
        f"SELECT m.id, {spec.expr} AS sort_key FROM silver.markets m {f.where()} "
        f"ORDER BY sort_key {order}, m.id {order} LIMIT ${len(f.args)}"
    )
    rows = await pool.fetch(sql, *f.args)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = encode_cursor(f"markets:{sort}", str(last["sort_key"]), int(last["id"]))
    docs = await documents(service, [int(r["id"]) for r in page])
    return json_response({"data": docs, "next_cursor": next_cursor})


@router.get("/{market_id}", response_model=Market, summary="One market")
async def market_detail(market_id: MarketIdPath, service: ServiceDep) -> Response:
    resolved = await service.resolve_one(market_id)
    docs = await documents(service, [resolved])
    return json_response(docs[0])


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
    return raw_json(answer.body or b"{}")
