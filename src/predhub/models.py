"""The unified model: what every venue adapter produces and ingestion stores.

These are plain, slotted dataclasses (cheap to build by the thousand in a
load); validation happens in each venue's pure parser, which turns a bad item
into a `DataError` instead of a half-filled object. Prices are probabilities
in [0, 1] as `Decimal`, money is `Decimal` USD, times are aware UTC datetimes.
Native ids are strings exactly as the venue spells them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class MarketStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # trading stopped, outcome not final yet
    RESOLVED = "resolved"
    VOIDED = "voided"


class SyncPriority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"
    ARCHIVED = "archived"


@dataclass(slots=True)
class RawResponse:
    """One HTTP exchange with a venue, kept verbatim for bronze."""

    venue: str
    endpoint: str  # the path template, e.g. "/markets/keyset"
    params: dict[str, Any]
    status: int
    fetched_at: datetime
    body: Any  # parsed JSON, or None when the body was not JSON
    text: str | None = None  # the body as text when it was not JSON
    bronze_id: int | None = None  # set by ingestion once stored


@dataclass(slots=True)
class DataError:
    """An item that failed validation: skippable, but never dropped silently."""

    venue: str
    endpoint: str
    item_id: str | None
    reason: str
    item: Any = None
    raw: RawResponse | None = None


@dataclass(slots=True)
class Event:
    venue: str
    native_id: str
    title: str
    slug: str | None = None
    description: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    start_at: datetime | None = None
    end_at: datetime | None = None
    neg_risk: bool = False
    mutually_exclusive: bool = False
    status: MarketStatus = MarketStatus.OPEN
    volume_total: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: RawResponse | None = None


@dataclass(slots=True)
class Outcome:
    index: int
    label: str
    token_id: str | None = None
    price: Decimal | None = None  # the venue's display price, when the listing carries one


@dataclass(slots=True)
class Resolution:
    winning_outcome: int | None = None  # outcome index
    is_void: bool = False
    payouts: list[Decimal] | None = None  # per outcome index, in [0, 1]
    source: str | None = None
    resolved_at: datetime | None = None


@dataclass(slots=True)
class Market:
    venue: str
    native_id: str
    question: str
    outcomes: list[Outcome]
    status: MarketStatus = MarketStatus.OPEN
    event_native_id: str | None = None
    event_title: str | None = None
    condition_id: str | None = None
    ticker: str | None = None
    slug: str | None = None
    description: str | None = None
    category: str | None = None
    end_at: datetime | None = None
    updated_at: datetime | None = None  # venue's own last-change time, for delta loads
    volume_total: Decimal | None = None
    volume_24h: Decimal | None = None
    liquidity: Decimal | None = None
    open_interest: Decimal | None = None
    fee_bps: Decimal | None = None
    tick_size: Decimal | None = None
    resolution: Resolution | None = None
    best_bid: Decimal | None = None  # YES side, when the listing carries it
    best_ask: Decimal | None = None
    last_price: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: RawResponse | None = None


@dataclass(slots=True)
class Quote:
    """Current best prices for one outcome, addressed by venue ids."""

    venue: str
    market_native_id: str
    outcome_index: int
    observed_at: datetime
    token_id: str | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    mid: Decimal | None = None
    last: Decimal | None = None
    price: Decimal | None = None
    raw: RawResponse | None = None


@dataclass(slots=True)
class BookLevel:
    price: Decimal
    size: Decimal


@dataclass(slots=True)
class OrderBook:
    """Bids best (highest) first, asks best (lowest) first, whatever the venue's order."""

    venue: str
    market_native_id: str
    outcome_index: int
    observed_at: datetime
    bids: list[BookLevel]
    asks: list[BookLevel]
    token_id: str | None = None
    book_hash: str | None = None
    raw: RawResponse | None = None

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    def quote(self, *, last: Decimal | None = None) -> Quote:
        """The book's best bid and ask as a quote of the same outcome (mid left to the caller)."""
        return Quote(
            venue=self.venue,
            market_native_id=self.market_native_id,
            outcome_index=self.outcome_index,
            observed_at=self.observed_at,
            token_id=self.token_id,
            best_bid=self.best_bid,
            best_ask=self.best_ask,
            last=last,
            raw=self.raw,
        )


@dataclass(slots=True)
class PricePoint:
    venue: str
    market_native_id: str
    outcome_index: int
    ts: datetime
    price: Decimal
    token_id: str | None = None
    raw: RawResponse | None = None


@dataclass(slots=True)
class Trade:
    venue: str
    market_native_id: str
    trade_key: str  # venue trade id, or transaction hash plus index
    price: Decimal
    size: Decimal
    executed_at: datetime
    outcome_index: int | None = None
    token_id: str | None = None
    side: str | None = None  # taker side: "buy" or "sell"
    tx_hash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: RawResponse | None = None
