"""Market payloads: built once per database read, serialized once, reused.

A snapshot keeps the market's JSON object pre-serialized without its closing
brace; each answer appends only its own few fields (tier, cache state, ...).
That keeps a cached read down to a dictionary lookup and a byte join, which is
what lets the database-first design serve close to a bare endpoint's rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from predhub.service.freshness import CacheState, age_seconds
from predhub.venues.descriptor import descriptor
from predhub.venues.errors import UnknownVenue

_MARKET_FIELDS = (
    "id",
    "venue",
    "native_id",
    "condition_id",
    "ticker",
    "slug",
    "question",
    "status",
    "event_id",
    "event_title",
    "category",
    "end_at",
    "volume_24h",
    "volume_total",
    "liquidity",
)
# Kept by the history rollup; a row read without them (a market it never saw) has none.
_CHANGE_FIELDS = ("change_1h", "change_24h", "change_7d")
_OUTCOME_PRICE_FIELDS = ("price", "best_bid", "best_ask", "mid", "last")


def number(value: Any) -> float | None:
    """A numeric column as a JSON number (Decimal is not JSON)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    return float(value)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def outcomes_of(raw: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The outcomes column (a JSON array built by the query) in payload form."""
    out: list[dict[str, Any]] = []
    for item in raw or ():
        entry: dict[str, Any] = {
            "index": item.get("index"),
            "label": item.get("label"),
            "token_id": item.get("token_id"),
        }
        for name in _OUTCOME_PRICE_FIELDS:
            entry[name] = number(item.get(name))
        # Which display rule produced `price` (see migration 0006): the price is
        # the midpoint of the bid and ask served beside it, or labelled otherwise.
        entry["price_source"] = item.get("price_source")
        out.append(entry)
    return out


def resolution_of(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """How the market resolved, the same on every venue: winner, void, payouts, time, source."""
    if row["status"] not in ("resolved", "voided") and row["winning_outcome"] is None:
        return None
    payouts = _json(row.get("payouts"))
    return {
        "winning_outcome": row["winning_outcome"],
        "is_void": bool(row["is_void"]),
        "payouts": [float(p) for p in payouts] if isinstance(payouts, list) else None,
        "resolved_at": iso(row["resolved_at"]),
        "source": row.get("resolution_source"),
    }


def _json(value: Any) -> Any:
    """A json(b) column read as text (the snapshot query casts them) as Python values."""
    if isinstance(value, str):
        return orjson.loads(value)
    return value


def market_url(row: Mapping[str, Any]) -> str | None:
    """The market's page on its venue, from the venue's link templates."""
    try:
        links = descriptor(row["venue"]).links
    except UnknownVenue:
        return None
    return links.market_url(
        market_id=str(row["native_id"] or ""),
        market_slug=str(row.get("slug") or ""),
        event_id=str(row.get("event_native_id") or ""),
        event_slug=str(row.get("event_slug") or ""),
    )


def event_url(row: Mapping[str, Any]) -> str | None:
    """The event's page on its venue, from the venue's link templates."""
    try:
        links = descriptor(row["venue"]).links
    except UnknownVenue:
        return None
    return links.event_url(event_id=str(row["native_id"]), event_slug=str(row.get("slug") or ""))


def market_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """The market part of every price answer, from one row of `MARKET_SNAPSHOT_SQL`."""
    doc = {name: plain(row[name]) for name in _MARKET_FIELDS}
    doc.update({name: plain(row.get(name)) for name in _CHANGE_FIELDS})
    doc["resolution"] = resolution_of(row)
    doc["url"] = market_url(row)
    doc["image_url"] = row.get("image_url")
    doc["icon_url"] = row.get("icon_url")
    tags = _json(row.get("venue_tags"))
    doc["venue_tags"] = [str(t) for t in tags] if isinstance(tags, list) else []
    doc["outcomes"] = outcomes_of(row["outcomes"])
    doc["as_of"] = iso(row["as_of"])
    doc["fetched_at"] = iso(row["quotes_synced_at"])
    return doc


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One market as last read from the database, ready to answer with."""

    id: int
    venue: str
    status: str
    quotes_synced_at: datetime | None
    body: bytes  # the JSON object without its closing brace
    document: dict[str, Any]
    # Read from a replica: when its data was known complete up to. None: from the primary.
    view_as_of: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, view_as_of: datetime | None = None) -> Snapshot:
        doc = market_document(row)
        encoded = orjson.dumps(doc)
        return cls(
            id=int(row["id"]),
            venue=row["venue"],
            status=row["status"],
            quotes_synced_at=row["quotes_synced_at"],
            body=encoded[:-1],
            document=doc,
            view_as_of=view_as_of,
        )


def answer_fields(
    *,
    tier: str,
    max_age: float,
    cache: CacheState,
    stale_reason: str | None,
    synced_at: datetime | None,
    now: datetime,
    view_as_of: datetime | None = None,
) -> dict[str, Any]:
    """This answer's own fields. Read from a replica, `age` is at least the replica's
    lag (`replica_lag`): the primary may hold a newer row than the one the replica
    showed, so the answer is known good only as of the replica's view."""
    age = age_seconds(synced_at, now)
    lag = age_seconds(view_as_of, now)
    if lag is not None:
        age = lag if age is None else max(age, lag)
    return {
        "source": "venue" if cache is CacheState.REFRESHED else "database",
        "tier": tier,
        "max_age": max_age,
        "age": round(age, 3) if age is not None else None,
        "cache": cache.value,
        "stale": cache is CacheState.STALE,
        "stale_reason": stale_reason,
        "replica_lag": round(lag, 3) if lag is not None else None,
    }


def render(snapshot: Snapshot, fields: Mapping[str, Any]) -> bytes:
    """The full answer for one market: the snapshot plus this request's fields."""
    return snapshot.body + b"," + orjson.dumps(fields)[1:]


def render_map(items: Sequence[tuple[str, bytes]]) -> bytes:
    """A JSON object from already-serialized values, keyed by the ids as asked."""
    parts = [orjson.dumps(key) + b":" + value for key, value in items]
    return b"{" + b",".join(parts) + b"}"
