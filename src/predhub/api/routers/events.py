"""Events: list, and one event with its markets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from predhub.api.deps import PoolDep, ServiceDep
from predhub.api.errors import ERROR_RESPONSES, ApiError
from predhub.api.pagination import decode_cursor, encode_cursor
from predhub.api.responses import json_response
from predhub.api.routers.markets import Filters, documents
from predhub.api.schemas import EventDetail, EventPage
from predhub.service.ids import ascii_int
from predhub.service.payload import plain

router = APIRouter(prefix="/v1/events", tags=["events"], responses=ERROR_RESPONSES)

EVENT_COLUMNS = """e.id, e.venue, e.native_id, e.slug, e.title, e.description, e.category,
    e.tags, e.start_at, e.end_at, e.status, e.volume_total,
    (SELECT count(*) FROM silver.markets m WHERE m.event_id = e.id) AS market_count"""


def event_document(row: asyncpg.Record) -> dict[str, Any]:
    doc = {key: plain(value) for key, value in row.items() if key != "sort_key"}
    doc["tags"] = list(row["tags"] or [])
    return doc


@router.get("", response_model=EventPage, summary="List events, by total volume")
async def list_events(
    pool: PoolDep,
    venue: Annotated[
        Literal["polymarket", "kalshi", "limitless", "opinion"] | None, Query()
    ] = None,
    status: Annotated[Literal["open", "closed", "resolved", "voided"] | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    f = Filters()
    if venue:
        f.add("e.venue = ?", venue)
    if status:
        f.add("e.status = ?", status)
    if category:
        f.add("lower(e.category) = lower(?)", category)
    key_expr = "coalesce(e.volume_total, -1)"
    if cursor:
        raw_key, raw_id = decode_cursor(cursor, "events", 2)
        if not isinstance(raw_key, int | float) or not isinstance(raw_id, int):
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
        f.add(f"({key_expr}, e.id) < (?::numeric, ?::bigint)", float(raw_key), raw_id)
    f.args.append(limit + 1)
    rows = await pool.fetch(
        f"SELECT {EVENT_COLUMNS}, {key_expr} AS sort_key FROM silver.events e {f.where()} "
        f"ORDER BY sort_key DESC, e.id DESC LIMIT ${len(f.args)}",
        *f.args,
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit and page:
        next_cursor = encode_cursor("events", float(page[-1]["sort_key"]), int(page[-1]["id"]))
    return json_response({"data": [event_document(r) for r in page], "next_cursor": next_cursor})


@router.get("/{event_id}", response_model=EventDetail, summary="One event with its markets")
async def event_detail(
    pool: PoolDep,
    service: ServiceDep,
    event_id: Annotated[
        str, Path(min_length=1, max_length=256, description="Our id, venue:native_id, or slug")
    ],
) -> Response:
    key = event_id.strip()
    number = ascii_int(key)
    if number is not None:
        row = await pool.fetchrow(
            f"SELECT {EVENT_COLUMNS} FROM silver.events e WHERE e.id = $1", number
        )
    elif ":" in key:
        venue, native = key.split(":", 1)
        row = await pool.fetchrow(
            f"SELECT {EVENT_COLUMNS} FROM silver.events e WHERE e.venue = $1 AND e.native_id = $2",
            venue.lower(),
            native,
        )
    else:
        row = await pool.fetchrow(
            f"SELECT {EVENT_COLUMNS} FROM silver.events e WHERE e.slug = $1 OR e.native_id = $1 "
            "ORDER BY e.volume_total DESC NULLS LAST LIMIT 1",
            key,
        )
    if row is None:
        raise ApiError(404, "not_found", f"no event matches id {key!r}", id=key)
    ids = await pool.fetch(
        "SELECT id FROM silver.markets WHERE event_id = $1 "
        "ORDER BY volume_24h DESC NULLS LAST, id LIMIT 1000",
        row["id"],
    )
    doc = event_document(row)
    doc["markets"] = await documents(service, [int(r["id"]) for r in ids])
    return json_response(doc)
