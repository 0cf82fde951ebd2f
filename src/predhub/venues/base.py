"""The venue interface every adapter implements.

An adapter declares what it can do in `has` (in the spirit of ccxt's `has`
map) and implements the matching coroutines. Every call returns a `Fetched`:
the parsed unified objects, the raw responses they came from (for bronze),
and the items that failed validation (for quarantine). Parsing lives in pure
functions in the adapter's module, tested on recorded responses alone.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Generic, TypeVar

from predhub.models import (
    DataError,
    Event,
    Market,
    OrderBook,
    PricePoint,
    Quote,
    RawResponse,
    Trade,
)
from predhub.venues.errors import NotSupported as NotSupported
from predhub.venues.errors import VenueError as VenueError

T = TypeVar("T")


class Capability(StrEnum):
    LIST_EVENTS = "list_events"
    LIST_MARKETS = "list_markets"
    MARKETS_SINCE = "markets_since"  # list_markets(since=...) is incremental
    MARKETS_BY_ID = "markets_by_id"
    BATCH_QUOTES = "batch_quotes"  # many outcomes in one request
    ORDER_BOOKS = "order_books"
    BATCH_ORDER_BOOKS = "batch_order_books"
    PRICE_HISTORY = "price_history"
    TRADES = "trades"
    LIVE_STREAM = "live_stream"
    LIVE_TRADES = "live_trades"  # the live stream carries trades, not only prices
    SIGNED_REQUESTS = "signed_requests"  # requests can be signed with the user's API key
    SEARCH = "search"
    CLOSED_MARKETS = "closed_markets"  # closed_markets(): the closed and resolved catalogue


@dataclass(slots=True)
class Fetched(Generic[T]):
    """Parsed items plus the raw responses and data errors behind them."""

    items: list[T] = field(default_factory=list)
    raw: list[RawResponse] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)
    watermark: str | None = None  # for incremental calls: where the next call resumes

    def extend(self, other: Fetched[T]) -> None:
        self.items.extend(other.items)
        self.raw.extend(other.raw)
        self.errors.extend(other.errors)
        if other.watermark is not None:
            self.watermark = other.watermark


@dataclass(slots=True, frozen=True)
class OutcomeRef:
    index: int
    token_id: str | None = None


@dataclass(slots=True, frozen=True)
class MarketRef:
    """What a venue needs to address a market we already hold."""

    native_id: str
    outcomes: tuple[OutcomeRef, ...] = ()
    condition_id: str | None = None
    ticker: str | None = None
    slug: str | None = None
    event_native_id: str | None = None


@dataclass(slots=True)
class StreamUpdate:
    """One message of a live stream, already normalized."""

    quotes: list[Quote] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    books: list[OrderBook] = field(default_factory=list)
    raw: RawResponse | None = None
    resync: bool = False  # the stream detected a gap or went silent: re-read over REST
    reason: str = ""  # why it resyncs: "gap", "silent" or "dropped" (counted in metrics)


@dataclass(slots=True, frozen=True)
class HistoryWindow:
    """One market's price history to read: its address and the span wanted."""

    ref: MarketRef
    start: datetime
    end: datetime


@dataclass(slots=True)
class MarketsHistory:
    """Price histories of several markets read together, and the markets left to read alone."""

    fetched: Fetched[PricePoint] = field(default_factory=lambda: Fetched[PricePoint]())
    answered: list[str] = field(default_factory=list)  # native ids whose window is in `fetched`
    rest: list[HistoryWindow] = field(default_factory=list)  # for `price_history`, one each


@dataclass(slots=True)
class MarketsTrades:
    """Every trade of several markets read together, with where each market's sync resumes."""

    fetched: Fetched[Trade] = field(default_factory=lambda: Fetched[Trade]())
    watermarks: dict[str, str] = field(default_factory=dict)  # native id -> its newest trade


class Venue(ABC):
    """One prediction-market venue behind the unified model."""

    name: ClassVar[str]
    has: ClassVar[frozenset[Capability]]

    async def close(self) -> None:
        """Release connections."""

    async def ping(self) -> bool:
        """Whether the configured base URL answers."""
        raise NotSupported(self.name)

    def list_events(self) -> AsyncIterator[Fetched[Event]]:
        """Every active event, one page at a time."""
        raise NotSupported(f"{self.name} cannot list events")

    def list_markets(
        self, *, since: datetime | None = None, active_only: bool = True
    ) -> AsyncIterator[Fetched[Market]]:
        """Markets (with their events' titles), one page at a time; `since` for deltas."""
        raise NotSupported(f"{self.name} cannot list markets")

    def closed_markets(
        self, *, cursor: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[Fetched[Market]]:
        """Every closed and resolved market the venue still lists, one page at a time.

        Each page's `watermark` is the cursor that resumes the walk after that
        page ("" once the walk is complete), so a history load can checkpoint
        it and a killed run continues where it stopped. `since` keeps markets
        that closed at or after it, where the venue filters on close time.
        """
        raise NotSupported(f"{self.name} cannot list closed markets")

    async def markets_by_id(self, refs: Sequence[MarketRef]) -> Fetched[Market]:
        raise NotSupported(f"{self.name} cannot fetch markets by id")

    async def find_markets(self, key: str) -> Fetched[Market]:
        """The markets an id of this venue names, for a market never loaded before.

        `key` is what a caller holds: by default the venue's own market id
        (a ticker, a slug, a numeric market id); adapters whose venue has
        other public ids (on-chain condition and token ids, declared in the
        descriptor's `lookup_ids`) accept those too. No items when the venue knows no such market.
        """
        if Capability.MARKETS_BY_ID not in self.has:
            raise NotSupported(f"{self.name} cannot fetch markets by id")
        return await self.markets_by_id([MarketRef(native_id=key)])

    async def quotes(self, refs: Sequence[MarketRef]) -> Fetched[Quote]:
        """Current quotes for every outcome of these markets, batched where possible."""
        raise NotSupported(f"{self.name} has no quotes")

    async def order_books(self, refs: Sequence[MarketRef]) -> Fetched[OrderBook]:
        raise NotSupported(f"{self.name} has no order books")

    async def price_history(
        self, ref: MarketRef, *, start: datetime, end: datetime, interval_seconds: int = 3600
    ) -> Fetched[PricePoint]:
        raise NotSupported(f"{self.name} has no price history")

    def trades_since(self, ref: MarketRef, watermark: str | None) -> AsyncIterator[Fetched[Trade]]:
        """Trades newer than `watermark`, oldest page first when the venue allows.

        Each page carries the watermark to persist once the page is stored, so
        an interrupted sync resumes without re-fetching what it already has.
        """
        raise NotSupported(f"{self.name} has no trades")

    # How many markets one `price_histories` call should be given (0: the venue has none).
    bulk_history_markets: ClassVar[int] = 0

    async def price_histories(
        self, windows: Sequence[HistoryWindow], *, interval_seconds: int = 3600
    ) -> MarketsHistory:
        """The price histories of several markets, many markets to a request.

        Where the venue's history endpoint takes a list of markets, a complete
        catalogue costs a request per `bulk_history_markets` markets instead
        of one each. Markets the batch endpoint does not serve (an archive
        tier, a market it left out) come back in `rest`, for `price_history`.
        """
        raise NotSupported(f"{self.name} reads price history one market at a time")

    # How many markets one `trades_of_markets` call should be given (0: the venue has none).
    bulk_trades_markets: ClassVar[int] = 0

    async def trades_of_markets(self, refs: Sequence[MarketRef]) -> MarketsTrades:
        """Every trade of these never-synced markets, several markets to a request.

        Where the venue's trades endpoint takes a list of markets, a complete
        catalogue's markets (a few trades each) cost a request per
        `bulk_trades_markets` markets instead of one each. The watermarks
        resume each market's `trades_since` after its newest trade.
        """
        raise NotSupported(f"{self.name} reads trades one market at a time")

    def stream(self, refs: Sequence[MarketRef]) -> AsyncIterator[StreamUpdate]:
        raise NotSupported(f"{self.name} has no live stream")

    def can_stream(self) -> bool:
        """Whether this adapter, as configured, can open its live stream now.

        A venue whose socket needs credentials (a signed handshake) declares
        `LIVE_STREAM` but streams only when they are set; it polls otherwise.
        """
        return Capability.LIVE_STREAM in self.has

    def signing(self) -> str | None:
        """What this adapter signs with its configured credentials; None when it signs nothing."""
        return None

    async def search(self, query: str, *, limit: int = 20) -> Fetched[Event]:
        """Events matching a free-text query, as the venue's own search ranks them."""
        raise NotSupported(f"{self.name} has no search")
