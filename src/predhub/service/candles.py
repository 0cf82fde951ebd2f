"""Candles and prices at a time, each interval read from the resolution made for it.

1- and 5-minute candles bin the history points themselves (kept
`HISTORY_1M_RETENTION_DAYS`); 15-minute candles are `gold.market_price_history`
as the rollup wrote it; hourly and 4-hour candles come from the hourly rollup,
daily ones from the daily rollup. Each interval has a default range that fits
it (a bare `?interval=1m` is the last 6 hours) and a largest range, so no
request reads more than a few thousand rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg

from predhub.db.queries import load, render
from predhub.service.errors import BadCandleRange, CandleRangeTooLarge

_Q = load("candles")
_ROLLUP = {
    resolution: render(_Q.candles_rollup, table=f"gold.market_price_history{suffix}")
    for resolution, suffix in (("15m", ""), ("1h", "_1h"), ("1d", "_1d"))
}

Interval = Literal["1m", "5m", "15m", "1h", "4h", "1d"]
RangeName = Literal["1h", "6h", "1d", "3d", "7d", "30d", "90d", "1y", "5y"]


RANGES: Mapping[str, timedelta] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "1y": timedelta(days=365),
    "5y": timedelta(days=5 * 365),
}


@dataclass(frozen=True, slots=True)
class IntervalSpec:
    """Where an interval's candles come from and how much of them one request may read."""

    seconds: int
    sql: str  # its query in candles.sql
    default_range: str  # a RANGES name
    max_range: str  # a RANGES name


INTERVALS: Mapping[str, IntervalSpec] = {
    "1m": IntervalSpec(60, _Q.candles_points, "6h", "1d"),
    "5m": IntervalSpec(300, _Q.candles_points, "1d", "7d"),
    "15m": IntervalSpec(900, _ROLLUP["15m"], "3d", "30d"),
    "1h": IntervalSpec(3600, _ROLLUP["1h"], "7d", "90d"),
    "4h": IntervalSpec(4 * 3600, _ROLLUP["1h"], "30d", "1y"),
    "1d": IntervalSpec(86400, _ROLLUP["1d"], "1y", "5y"),
}


def window(
    interval: str, *, start: datetime | None, end: datetime | None, range_name: str | None
) -> tuple[datetime, datetime]:
    """The [start, end) a request covers, start aligned to the interval.

    Raises BadCandleRange when start is not before end, CandleRangeTooLarge
    (naming the largest range) when the range is longer than the interval's.
    """
    spec = INTERVALS[interval]
    end_at = end or datetime.now(UTC)
    if start is None:
        start = end_at - RANGES[range_name or spec.default_range]
    if start >= end_at:
        raise BadCandleRange("start must be before end")
    largest = RANGES[spec.max_range]
    if end_at - start > largest:
        raise CandleRangeTooLarge(
            f"the range is too large for {interval} candles: at most {spec.max_range} "
            f"({int(largest.total_seconds() // spec.seconds)} candles); narrow the range or "
            "widen the interval",
            largest=spec.max_range,
        )
    return _floor(start, spec.seconds), end_at


def _floor(at: datetime, seconds: int) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + timedelta(seconds=int((at - epoch).total_seconds() // seconds * seconds))


def _candle(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "t": row["t"],
        "open": row["open"],
        "high": row["high"],
        "low": row["low"],
        "close": row["close"],
        "volume": row["volume"] if row["volume"] is not None else 0,
        "points": int(row["points"]),
    }


async def candles(
    pool: asyncpg.Pool,
    market_id: int,
    outcome: int,
    interval: str,
    start: datetime,
    end: datetime,
    *,
    fill: bool = False,
) -> list[dict[str, Any]]:
    """The outcome's candles in [start, end), oldest first.

    With `fill`, every interval from the first known price on has a candle: a
    gap repeats the previous close with zero volume and zero points.
    """
    spec = INTERVALS[interval]
    rows = await pool.fetch(spec.sql, market_id, outcome, float(spec.seconds), start, end)
    found = [_candle(r) for r in rows]
    if not fill:
        return found
    previous = await pool.fetchval(_Q.price_before, market_id, outcome, start)
    if previous is None:
        previous = await pool.fetchval(_Q.close_before, market_id, outcome, start)
    return _filled(found, previous, start, end, spec.seconds)


def _filled(
    found: list[dict[str, Any]], previous: Any, start: datetime, end: datetime, seconds: int
) -> list[dict[str, Any]]:
    by_t = {c["t"]: c for c in found}
    out: list[dict[str, Any]] = []
    step = timedelta(seconds=seconds)
    t = start
    while t < end:
        candle = by_t.get(t)
        if candle is not None:
            previous = candle["close"]
            out.append(candle)
        elif previous is not None:
            out.append(
                {
                    "t": t,
                    "open": previous,
                    "high": previous,
                    "low": previous,
                    "close": previous,
                    "volume": 0,
                    "points": 0,
                }
            )
        t += step
    return out


async def price_at(pool: asyncpg.Pool, market_id: int, at: datetime) -> list[asyncpg.Record]:
    """Each outcome's price at `at`: from history first, trades second (`source` says)."""
    return list(await pool.fetch(_Q.price_at, market_id, at))
