"""Formatting helpers shared by the venue serializers.

Dates are cached: most timestamps a market shows (creation, open, close) never
change, and formatting them is a large share of a listing's cost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from starlette.responses import Response


@lru_cache(maxsize=16_384)
def iso(ts: float) -> str:
    """ISO-8601 with microseconds and a Z, as the venues write it."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@lru_cache(maxsize=16_384)
def iso_s(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=16_384)
def pg_time(ts: float) -> str:
    """The "YYYY-MM-DD HH:MM:SS+00" form of Gamma's closedTime."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S+00")


@lru_cache(maxsize=16_384)
def day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def num(x: float, places: int = 4) -> str:
    """A price as a short decimal string: 0.455 -> "0.455", 1.0 -> "1"."""
    s = f"{x:.{places}f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def dollars(x: float, places: int = 4) -> str:
    """Fixed-point dollars: always `places` decimals."""
    return f"{x:.{places}f}"


def fp(x: float) -> str:
    """Fixed-point counts: two decimals."""
    return f"{x:.2f}"


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json", headers=headers)
