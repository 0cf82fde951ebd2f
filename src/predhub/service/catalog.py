"""What the API lists: market ids by filters and sorts, events, search, venues.

Listing reads return ids (and sort keys for cursors); the market documents
themselves come through `MarketDataService.snapshots`, so a listed market is
rendered exactly as a single read of it. The SQL lives in `service_catalog.sql`;
the filter fragments below are joined into its `{where}` with numbered
parameters, so no input is ever spliced into SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

import asyncpg

from predhub.db.queries import load
from predhub.service.errors import KeyNameTaken
from predhub.service.ids import ascii_int
from predhub.service.payload import event_url, plain
from predhub.venues.descriptor import venue_names

_Q = load("service_catalog")

MARKET_STATUSES = ("open", "closed", "resolved", "voided")
# Search ranks candidates, read by key, so a query costs what a page and its words do
# whatever the catalogue's size: for each word, venue and status, this many markets of
# the word's list (question before event title, busiest first; every market carrying
# the word when there are fewer, so a rarer word ranks exactly). Only when those hold
# fewer matches than the page's end, this many matches as the text index yields them
# (its cost follows the query's match count). 100 a list gave the same first pages as
# 200 for 44 sampled words at 5,640 and at 550,000 markets, at half the database time
# of a word whose lists are full (README, Scale).
SEARCH_WORD_WALK = 100
SEARCH_CANDIDATES = 1000

SortName = Literal[
    "volume_24h",
    "-volume_24h",
    "liquidity",
    "-liquidity",
    "end_at",
    "-end_at",
    "change_1h",
    "-change_1h",
    "change_24h",
    "-change_24h",
    "change_7d",
    "-change_7d",
    "end_date",  # the old name of end_at, still accepted
    "-end_date",
]
SORT_ALIASES = {"end_date": "end_at"}


@dataclass(frozen=True)
class Sort:
    expr: str  # never NULL, so keyset comparisons are total
    sql_type: str
    descending: bool


@dataclass(frozen=True)
class _Field:
    """A sortable field of the market document: its column, type and natural order.

    Unknown values sort last in either direction (`last_desc` and `last_asc`
    stand in for NULL).
    """

    column: str
    sql_type: str
    descending: bool
    last_desc: str
    last_asc: str

    def sort(self, reverse: bool) -> Sort:
        descending = self.descending != reverse
        fill = self.last_desc if descending else self.last_asc
        return Sort(f"coalesce({self.column}, {fill})", self.sql_type, descending)


_BIG = "1e30"
_FIELDS: dict[str, _Field] = {
    "volume_24h": _Field("m.volume_24h", "numeric", True, "-1", _BIG),
    "liquidity": _Field("m.liquidity", "numeric", True, "-1", _BIG),
    "end_at": _Field(
        "m.end_at", "timestamptz", False, "'-infinity'::timestamptz", "'infinity'::timestamptz"
    ),
    # largest rise first; `-change_24h` is the largest fall first
    "change_1h": _Field("c.change_1h", "numeric", True, "-2", "2"),
    "change_24h": _Field("c.change_24h", "numeric", True, "-2", "2"),
    "change_7d": _Field("c.change_7d", "numeric", True, "-2", "2"),
}


def _sorts() -> dict[str, Sort]:
    """Every sort value: a field name in its natural order, `-name` reversed."""
    out: dict[str, Sort] = {}
    for name in get_args(SortName):
        bare = name.removeprefix("-")
        field = _FIELDS[SORT_ALIASES.get(bare, bare)]
        out[name] = field.sort(reverse=name.startswith("-"))
    return out


SORTS: dict[str, Sort] = _sorts()
EVENT_SORT_KEY = "coalesce(e.volume_total, -1)"


class Filters:
    """WHERE clauses with numbered parameters, built one filter at a time."""

    def __init__(self, first: int = 1) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []
        self._first = first

    def add(self, clause: str, *values: Any) -> None:
        for value in values:
            self.args.append(value)
            clause = clause.replace("?", f"${len(self.args) + self._first - 1}", 1)
        self.clauses.append(clause)

    def where(self) -> str:
        return ("WHERE " + " AND ".join(self.clauses)) if self.clauses else ""

    def next_param(self) -> str:
        """The placeholder of the parameter after the filters' own."""
        return f"${len(self.args) + self._first}"


@dataclass(frozen=True, slots=True)
class MarketFilter:
    venue: str | None = None
    status: str | None = None
    category: str | None = None
    event: str | None = None
    min_volume: float | None = None
    closing_before: datetime | None = None
    # the first outcome's price as the gold rollup last saw it (gold.market_changes)
    min_price: float | None = None
    max_price: float | None = None


@dataclass(frozen=True, slots=True)
class Keyed:
    """A listed id with the key it was sorted by (what the next page's cursor holds)."""

    id: int
    sort_key: Any


@dataclass(frozen=True, slots=True)
class Ranked:
    id: int
    rank: float


@dataclass(frozen=True, slots=True)
class VenueStats:
    venue: str
    markets: int
    open_markets: int
    newest_quote_at: datetime | None
    newest_metadata_at: datetime | None
    open_quote_age_p50: float | None
    open_quote_age_p90: float | None
    hot_markets: int
    newest_trade_at: datetime | None = None  # the newest trade of the last 48 h
    measured_at: datetime | None = None  # when the percentiles were taken (gold refresh)
    refreshed_at: datetime | None = None


def event_document(row: asyncpg.Record) -> dict[str, Any]:
    doc = {key: plain(value) for key, value in row.items() if key != "sort_key"}
    doc["tags"] = list(row["tags"] or [])
    doc["url"] = event_url(row)
    return doc


class CatalogReads:
    """Listing reads of `MarketDataService` (needs its `pool` and `read_pool`).

    Reads go to `read_pool` (a replica when one is fit); those that follow a
    notification from the primary, or decide access, read the primary itself.
    """

    pool: asyncpg.Pool

    @property
    def read_pool(self) -> asyncpg.Pool:
        raise NotImplementedError

    async def market_page(
        self, where: MarketFilter, sort: SortName, *, limit: int, after: tuple[Any, int] | None
    ) -> list[Keyed]:
        """Up to `limit` market ids in `sort` order, after the `after` keyset when given."""
        spec = SORTS[sort]
        f = Filters()
        if where.venue:
            f.add("m.venue = ?", where.venue)
        if where.status:
            f.add("m.status = ?", where.status)
        if where.category:
            # the venue's own label, or the category gold derives alike for every venue
            f.add(
                "(lower(m.category) = lower(?) OR m.id IN (SELECT g.market_id FROM"
                " gold.market_stats g WHERE lower(g.category) = lower(?)))",
                where.category,
                where.category,
            )
        if where.event:
            number = ascii_int(where.event)
            if number is not None:
                f.add("(m.event_id = ?::bigint OR m.event_native_id = ?)", number, where.event)
            else:
                f.add("m.event_native_id = ?", where.event)
        if where.min_volume is not None:
            f.add("m.volume_24h >= ?", Decimal(str(where.min_volume)))
        if where.closing_before is not None:
            f.add("m.end_at < ?", where.closing_before)
        if where.min_price is not None:
            f.add("c.price >= ?", Decimal(str(where.min_price)))
        if where.max_price is not None:
            f.add("c.price <= ?", Decimal(str(where.max_price)))
        if after is not None:
            op = "<" if spec.descending else ">"
            f.add(f"({spec.expr}, m.id) {op} (?::{spec.sql_type}, ?::bigint)", *after)
        order = "DESC" if spec.descending else "ASC"
        sql = _Q.market_page.format(
            sort_key=spec.expr, where=f.where(), order=order, limit=f.next_param()
        )
        rows = await self.read_pool.fetch(sql, *f.args, limit)
        return [Keyed(int(r["id"]), r["sort_key"]) for r in rows]

    async def event_page(
        self,
        *,
        venue: str | None,
        status: str | None,
        category: str | None,
        limit: int,
        after: tuple[float, int] | None,
    ) -> list[tuple[dict[str, Any], float]]:
        """Up to `limit` event documents by total volume, each with its sort key."""
        f = Filters()
        if venue:
            f.add("e.venue = ?", venue)
        if status:
            f.add("e.status = ?", status)
        if category:
            f.add("lower(e.category) = lower(?)", category)
        if after is not None:
            f.add(f"({EVENT_SORT_KEY}, e.id) < (?::numeric, ?::bigint)", *after)
        sql = _Q.event_page.format(where=f.where(), limit=f.next_param())
        rows = await self.read_pool.fetch(sql, *f.args, limit)
        return [(event_document(r), float(r["sort_key"])) for r in rows]

    async def event(self, key: str) -> dict[str, Any] | None:
        """One event's document by our id, venue:native_id, or slug; None when unknown."""
        number = ascii_int(key)
        if number is not None:
            row = await self.read_pool.fetchrow(_Q.event_by_id, number)
        elif ":" in key:
            venue, native = key.split(":", 1)
            row = await self.read_pool.fetchrow(_Q.event_by_native_id, venue.lower(), native)
        else:
            row = await self.read_pool.fetchrow(_Q.event_by_slug, key)
        return None if row is None else event_document(row)

    async def event_market_ids(self, event_id: int) -> list[int]:
        return [int(r["id"]) for r in await self.read_pool.fetch(_Q.event_market_ids, event_id)]

    async def search(
        self, text: str, *, venue: str | None, status: str | None, limit: int, offset: int
    ) -> list[Ranked]:
        """Market ids matching `text` by relevance; `status` None means any status.

        Ranks candidates only (see the query): the first `SEARCH_WORD_WALK` (at least
        the page's end) of each query word's list per venue and status, and, when they
        hold fewer matches than the page's end, `SEARCH_CANDIDATES` matches from the
        text index.
        """
        venues = [venue] if venue else list(venue_names())
        statuses = [status] if status is not None else list(MARKET_STATUSES)
        rows = await self.read_pool.fetch(
            _Q.search,
            text,
            venues,
            statuses,
            max(SEARCH_CANDIDATES, offset + limit),
            max(SEARCH_WORD_WALK, offset + limit),
            limit,
            offset,
        )
        return [Ranked(int(r["id"]), float(r["rank"])) for r in rows]

    async def venue_stats(self, hot_minutes: float) -> dict[str, VenueStats]:
        out: dict[str, VenueStats] = {}
        for r in await self.read_pool.fetch(_Q.venue_stats, hot_minutes):
            out[r["venue"]] = VenueStats(
                venue=r["venue"],
                markets=int(r["markets"]),
                open_markets=int(r["open_markets"]),
                newest_quote_at=r["newest_quote_at"],
                newest_metadata_at=r["newest_metadata_at"],
                open_quote_age_p50=None if r["p50"] is None else float(r["p50"]),
                open_quote_age_p90=None if r["p90"] is None else float(r["p90"]),
                hot_markets=int(r["hot"]),
                newest_trade_at=r["newest_trade_at"],
                measured_at=r["measured_at"],
                refreshed_at=r["refreshed_at"],
            )
        return out

    async def market_venues(self, market_ids: list[int]) -> dict[int, str]:
        rows = await self.read_pool.fetch(_Q.market_venues, market_ids)
        return {int(r["id"]): str(r["venue"]) for r in rows}

    async def market_rules(self, market_id: int) -> tuple[str | None, str | None]:
        """(rules, resolution source) of one market: the detail answer's long texts."""
        row = await self.read_pool.fetchrow(_Q.market_rules, market_id)
        return (row["description"], row["resolution_source"]) if row else (None, None)

    async def top_open_market_ids(self, venue: str, n: int) -> list[int]:
        return [int(r["id"]) for r in await self.read_pool.fetch(_Q.top_open_markets, venue, n)]


async def store_key(conn: asyncpg.Connection, name: str, key_hash: str, scopes: list[str]) -> None:
    """Store an API key's hash under `name`; a taken name raises `KeyNameTaken`."""
    try:
        await conn.execute(_Q.store_key, name, key_hash, scopes)
    except asyncpg.UniqueViolationError as exc:
        raise KeyNameTaken(name) from exc


Connection = asyncpg.Connection
DatabaseValueError = asyncpg.DataError  # input PostgreSQL refused: the request's fault
DatabaseFailure = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

# What a lost or refusing database raises: the socket refused or reset (OSError,
# which includes a pool's acquire timeout), a connection closed under a query
# (InterfaceError), the server shutting down or starting up (class 57), a broken
# connection (class 08) or a full disk or connection table (class 53); and
# asyncpg's InternalClientError, which a connection whose session was terminated
# in the middle of a statement can raise on its next use ("cannot switch to
# state ..."), before the pool replaces it.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
)
