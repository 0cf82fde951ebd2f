"""History: candles over a range, trades with a cursor, order books now or then, price at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from predhub.api.deps import MarketIdPath, PoolDep, ServiceDep
from predhub.api.errors import ERROR_RESPONSES, ApiError
from predhub.api.pagination import decode_cursor, encode_cursor
from predhub.api.responses import json_response
from predhub.api.schemas import Books, History, PriceAt, TradePage
from predhub.service.payload import iso, number

router = APIRouter(prefix="/v1/markets", tags=["history"], responses=ERROR_RESPONSES)

INTERVALS = {"1m": 60, "1h": 3600, "1d": 86400}
MAX_CANDLES = 10_000

CANDLES_SQL = """
SELECT date_bin(make_interval(secs => $2), ph.ts, 'epoch'::timestamptz) AS t,
       (array_agg(ph.price ORDER BY ph.ts))[1] AS open,
       max(ph.price) AS high, min(ph.price) AS low,
       (array_agg(ph.price ORDER BY ph.ts DESC))[1] AS close,
       count(*) AS points
FROM silver.price_history ph
JOIN silver.outcomes o ON o.id = ph.outcome_id
WHERE o.market_id = $1 AND o.idx = $3 AND ph.ts >= $4 AND ph.ts < $5
GROUP BY 1 ORDER BY 1
"""


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ApiError(400, "bad_request", f"{name} needs a time zone, e.g. 2026-01-01T00:00:00Z")
    if not datetime(1970, 1, 1, tzinfo=UTC) <= value <= datetime(9000, 1, 1, tzinfo=UTC):
        raise ApiError(400, "bad_request", f"{name} is out of range")
    return value


OutcomeQuery = Annotated[int, Query(ge=0, le=255, description="Outcome index")]


@router.get("/{market_id}/history", response_model=History, summary="Price candles")
async def history(
    market_id: MarketIdPath,
    service: ServiceDep,
    pool: PoolDep,
    interval: Annotated[Literal["1m", "1h", "1d"], Query()] = "1h",
    start: Annotated[datetime | None, Query(description="Default: end minus 7 days")] = None,
    end: Annotated[datetime | None, Query(description="Default: now")] = None,
    outcome: OutcomeQuery = 0,
) -> Response:
    resolved = await service.resolve_one(market_id)
    end_at = _aware(end, "end") if end else datetime.now(UTC)
    start_at = _aware(start, "start") if start else end_at - timedelta(days=7)
    if start_at >= end_at:
        raise ApiError(400, "bad_request", "start must be before end")
    step = INTERVALS[interval]
    if (end_at - start_at).total_seconds() / step > MAX_CANDLES:
        raise ApiError(
            400,
            "range_too_large",
            f"at most {MAX_CANDLES} candles per request; narrow the range or widen the interval",
        )
    rows = await pool.fetch(CANDLES_SQL, resolved, float(step), outcome, start_at, end_at)
    candles = [
        {
            "t": iso(r["t"]),
            "open": number(r["open"]),
            "high": number(r["high"]),
            "low": number(r["low"]),
            "close": number(r["close"]),
            "points": int(r["points"]),
        }
        for r in rows
    ]
    return json_response(
        {
            "market_id": resolved,
            "outcome": outcome,
            "interval": interval,
            "start": iso(start_at),
            "end": iso(end_at),
            "candles": candles,
        }
    )


@router.get("/{market_id}/trades", response_model=TradePage, summary="Trades, newest first")
async def trades(
    market_id: MarketIdPath,
    service: ServiceDep,
    pool: PoolDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    resolved = await service.resolve_one(market_id)
    args: list[object] = [resolved, limit + 1]
    keyset = ""
    if cursor:
        raw_ts, raw_id = decode_cursor(cursor, "trades", 2)
        if not isinstance(raw_ts, str) or not isinstance(raw_id, int):
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request")
        try:
            ts = datetime.fromisoformat(raw_ts)
        except ValueError as exc:
            raise ApiError(400, "bad_cursor", "the cursor is not valid for this request") from exc
        args += [ts, raw_id]
        keyset = "AND (t.executed_at, t.id) < ($3, $4)"
    rows = await pool.fetch(
        f"""
        SELECT t.id, t.trade_key, o.idx AS outcome, t.price, t.size, t.side, t.executed_at,
               t.tx_hash
        FROM silver.trades t LEFT JOIN silver.outcomes o ON o.id = t.outcome_id
        WHERE t.market_id = $1 {keyset}
        ORDER BY t.executed_at DESC, t.id DESC LIMIT $2
        """,
        *args,
    )
    page = rows[:limit]
    data = [
        {
            "id": int(r["id"]),
            "trade_key": r["trade_key"],
            "outcome": r["outcome"],
            "price": number(r["price"]),
            "size": number(r["size"]),
            "side": r["side"],
            "executed_at": iso(r["executed_at"]),
            "tx_hash": r["tx_hash"],
        }
        for r in page
    ]
    next_cursor = None
    if len(rows) > limit and page:
        next_cursor = encode_cursor("trades", iso(page[-1]["executed_at"]), int(page[-1]["id"]))
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
    pool: PoolDep,
    at: Annotated[datetime | None, Query(description="The latest book at or before this")] = None,
) -> Response:
    resolved = await service.resolve_one(market_id)
    when = _aware(at, "at") if at else None
    rows = await pool.fetch(
        """
        SELECT DISTINCT ON (o.idx) o.idx, b.observed_at, b.best_bid, b.best_ask, b.bids, b.asks
        FROM silver.order_book_snapshots b JOIN silver.outcomes o ON o.id = b.outcome_id
        WHERE b.market_id = $1 AND ($2::timestamptz IS NULL OR b.observed_at <= $2)
        ORDER BY o.idx, b.observed_at DESC
        """,
        resolved,
        when,
    )
    books = [
        {
            "outcome": r["idx"],
            "observed_at": iso(r["observed_at"]),
            "best_bid": number(r["best_bid"]),
            "best_ask": number(r["best_ask"]),
            "bids": _levels(r["bids"]),
            "asks": _levels(r["asks"]),
        }
        for r in rows
    ]
    return json_response({"market_id": resolved, "at": iso(when), "books": books})


@router.get(
    "/{market_id}/price/at", response_model=PriceAt, summary="Each outcome's price at a time"
)
async def price_at(
    market_id: MarketIdPath,
    service: ServiceDep,
    pool: PoolDep,
    at: Annotated[datetime, Query(description="The point in time")],
) -> Response:
    resolved = await service.resolve_one(market_id)
    when = _aware(at, "at")
    rows = await pool.fetch(
        """
        SELECT o.idx, h.price AS h_price, h.ts AS h_ts, t.price AS t_price, t.executed_at AS t_ts
        FROM silver.outcomes o
        LEFT JOIN LATERAL (
            SELECT price, ts FROM silver.price_history
            WHERE outcome_id = o.id AND ts <= $2 ORDER BY ts DESC LIMIT 1) h ON true
        LEFT JOIN LATERAL (
            SELECT price, executed_at FROM silver.trades
            WHERE market_id = o.market_id AND outcome_id = o.id AND executed_at <= $2
            ORDER BY executed_at DESC LIMIT 1) t ON true
        WHERE o.market_id = $1 ORDER BY o.idx
        """,
        resolved,
        when,
    )
    outcomes = []
    for r in rows:
        use_trade = r["t_ts"] is not None and (r["h_ts"] is None or r["t_ts"] > r["h_ts"])
        if use_trade:
            outcomes.append(
                {
                    "outcome": r["idx"],
                    "price": number(r["t_price"]),
                    "ts": iso(r["t_ts"]),
                    "source": "trade",
                }
            )
        elif r["h_ts"] is not None:
            outcomes.append(
                {
                    "outcome": r["idx"],
                    "price": number(r["h_price"]),
                    "ts": iso(r["h_ts"]),
                    "source": "history",
                }
            )
        else:
            outcomes.append({"outcome": r["idx"], "price": None, "ts": None, "source": "none"})
    return json_response({"market_id": resolved, "at": iso(when), "outcomes": outcomes})
