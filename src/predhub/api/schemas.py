"""Response models: they document the API in OpenAPI (and schemathesis holds us to them).

Routes that answer from pre-rendered bytes declare these models with
`responses=`; routes that build dicts return them through `response_model`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictInt

from predhub.api.errors import ErrorDetail

Status = Literal["open", "closed", "resolved", "voided"]
PriceSource = Literal["mid", "last_trade", "display"]


# A market id in a request body: any string form, or our numeric id as a JSON number.
MarketKey = (
    Annotated[str, Field(max_length=256)]
    | Annotated[StrictInt, Field(ge=0, le=999_999_999_999_999_999)]
)


class OutcomeQuote(BaseModel):
    index: int
    label: str
    token_id: str | None = None
    price: float | None = Field(None, description="The venue's display price (probability)")
    price_source: PriceSource | None = Field(
        None,
        description=(
            "The rule that produced `price`: `mid` (midpoint of best_bid and best_ask), "
            "`last_trade` (the spread is wider than the venue shows a midpoint for, "
            "or one side is missing), `display` (the venue's own "
            "displayed price, no bid, ask or last trade known)"
        ),
    )
    best_bid: float | None = None
    best_ask: float | None = None
    mid: float | None = None
    last: float | None = None


class Resolution(BaseModel):
    winning_outcome: int | None = Field(None, description="Index of the winning outcome")
    is_void: bool = Field(False, description="Voided: stakes returned, no winner")
    payouts: list[float] | None = Field(
        None, description="What one contract of each outcome paid (partial payouts included)"
    )
    resolved_at: datetime | None = None
    source: str | None = Field(None, description="How the venue's resolution was read")


class Market(BaseModel):
    id: int = Field(description="Our market id")
    venue: str
    native_id: str
    condition_id: str | None = None
    ticker: str | None = None
    slug: str | None = None
    question: str
    status: Status
    event_id: int | None = None
    event_title: str | None = None
    category: str | None = None
    end_at: datetime | None = None
    volume_24h: float | None = None
    volume_total: float | None = None
    liquidity: float | None = None
    change_1h: float | None = Field(
        None, description="Change of the first outcome's price over 1 hour (0.05 = 5 points)"
    )
    change_24h: float | None = Field(None, description="The same over 24 hours")
    change_7d: float | None = Field(None, description="The same over 7 days")
    resolution: Resolution | None = None
    url: str | None = Field(None, description="The market's page on its venue")
    image_url: str | None = Field(None, description="The venue's picture of the market")
    icon_url: str | None = Field(None, description="The venue's icon of the market")
    venue_tags: list[str] = Field(
        default_factory=list,
        description="Categories and tags as the venue gives them (beside our `category`)",
    )
    outcomes: list[OutcomeQuote]
    as_of: datetime | None = Field(None, description="When the venue's data was observed")
    fetched_at: datetime | None = Field(None, description="When we last fetched the quotes")


class MarketDetail(Market):
    rules: str | None = Field(
        None, description="The market's rules as its venue words them (this answer only)"
    )
    resolution_source: str | None = Field(
        None, description="Where the venue reads the result from, when it says"
    )


class MarketPrice(Market):
    source: Literal["database", "venue"]
    tier: str
    max_age: float
    age: float | None = Field(None, description="Seconds since fetched_at, at answer time")
    cache: Literal["hit", "refreshed", "stale"]
    stale: bool
    stale_reason: str | None = None
    replica_lag: float | None = Field(
        None,
        description=(
            "Read from a streaming replica (DATABASE_READ_URLS): how far its data was behind"
            " the primary, in seconds; `age` is at least this. Null when read from the primary"
        ),
    )


class MarketPage(BaseModel):
    data: list[Market]
    next_cursor: str | None = None


class PriceError(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class PriceErrorEntry(BaseModel):
    error: PriceError


class BatchPrices(BaseModel):
    prices: dict[str, MarketPrice | PriceErrorEntry] = Field(
        description="Each requested id, as given, to its market payload or its error"
    )


class Event(BaseModel):
    id: int
    venue: str
    native_id: str
    slug: str | None = None
    title: str
    description: str | None = None
    category: str | None = None
    tags: list[str] = Field(default_factory=list)
    start_at: datetime | None = None
    end_at: datetime | None = None
    status: Status
    volume_total: float | None = None
    market_count: int = 0
    url: str | None = Field(None, description="The event's page on its venue")
    image_url: str | None = Field(None, description="The venue's picture of the event")
    icon_url: str | None = Field(None, description="The venue's icon of the event")


class EventDetail(Event):
    markets: list[Market]
    aggregates: dict[str, Any] | None = None
    as_of: str | None = None
    refreshed_at: str | None = None


class EventPage(BaseModel):
    data: list[Event]
    next_cursor: str | None = None


class SearchHit(Market):
    rank: float = Field(description="Text relevance (ts_rank); ties broken by 24 h volume")


class SearchPage(BaseModel):
    data: list[SearchHit]
    next_cursor: str | None = None


class Candle(BaseModel):
    t: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float = Field(description="Traded size in the candle; 0 when none is known")
    points: int = Field(description="History points in the candle; 0 for a filled gap")


class History(BaseModel):
    market_id: int
    outcome: int
    interval: Literal["1m", "5m", "15m", "1h", "4h", "1d"]
    start: datetime
    end: datetime
    candles: list[Candle]


class TradeOut(BaseModel):
    id: int
    trade_key: str
    outcome: int | None = None
    price: float
    size: float
    side: str | None = None
    executed_at: datetime
    tx_hash: str | None = None


class TradePage(BaseModel):
    data: list[TradeOut]
    next_cursor: str | None = None


class BookSide(BaseModel):
    price: float
    size: float


class Book(BaseModel):
    outcome: int
    observed_at: datetime
    best_bid: float | None = None
    best_ask: float | None = None
    bids: list[BookSide]
    asks: list[BookSide]


class Books(BaseModel):
    market_id: int
    at: datetime | None = Field(None, description="The time asked for; null for the latest")
    books: list[Book]


class PointPrice(BaseModel):
    outcome: int
    price: float | None = None
    ts: datetime | None = None
    source: Literal["history", "trades", "none"] = Field(
        description="history: the price history (points, then 15-minute candles); "
        "trades: the latest trade, when history has nothing by then"
    )


class PriceAt(BaseModel):
    market_id: int
    at: datetime
    outcomes: list[PointPrice]


class TopMarkets(BaseModel):
    venues: dict[str, list[Market]]
    overall: list[Market] = []
    min_volume_usd: float
    as_of: str | None = None
    refreshed_at: str | None = None


class Mover(BaseModel):
    """One market's move over the window, with its document (None if it is gone since)."""

    market_id: int
    venue: str
    move: float = Field(description="Change of the leading outcome's price over the window")
    price: float | None = None
    volume_24h: float
    as_of: str | None = None
    refreshed_at: str | None = None
    market: Market | None = None


class Movers(BaseModel):
    window: str
    data: list[Mover]
    as_of: str | None = Field(None, description="The oldest data the rows were computed from")
    refreshed_at: str | None = Field(None, description="When the newest row was computed")


class TrendingMarket(BaseModel):
    """One market whose trading grew against the previous 24 h, with its document."""

    market_id: int
    venue: str
    notional_24h: float
    notional_prev_24h: float
    trades_24h: int
    trades_prev_24h: int
    traders_24h: int | None = None
    traders_prev_24h: int | None = None
    score: float
    as_of: str | None = None
    refreshed_at: str | None = None
    market: Market | None = None


class Trending(BaseModel):
    data: list[TrendingMarket]
    as_of: str | None = None
    refreshed_at: str | None = None


class GroupTotals(BaseModel):
    """Totals of a group of markets; `share` is its part of the 24 h volume."""

    markets: int
    open_markets: int
    open_interest: float
    volume_24h: float
    volume_total: float
    liquidity: float
    share: float | None = None
    newest_as_of: str | None = None
    as_of: str | None = None
    refreshed_at: str | None = None


class VenueTotals(GroupTotals):
    venue: str


class CategoryTotals(GroupTotals):
    category: str


class Stats(BaseModel):
    venues: list[VenueTotals]
    categories: list[CategoryTotals]
    as_of: str | None = None
    refreshed_at: str | None = None


class VenueFreshness(BaseModel):
    name: str
    enabled: bool
    markets: int
    open_markets: int
    newest_quote_at: datetime | None = None
    newest_metadata_at: datetime | None = None
    open_quote_age_p50: float | None = Field(
        None, description="Seconds, at `measured_at` (to the second)"
    )
    open_quote_age_p90: float | None = Field(
        None, description="Seconds, at `measured_at` (to the second)"
    )
    hot_markets: int = Field(description="Markets asked for within HOT_INTEREST_MINUTES")
    newest_trade_at: datetime | None = Field(None, description="The newest trade of the last 48 h")
    measured_at: datetime | None = Field(
        None, description="When the gold refresh took the age percentiles"
    )
    refreshed_at: datetime | None = Field(None, description="The venue's last gold refresh")


class Freshness(BaseModel):
    markets: int
    open_markets: int
    never_quoted: int = Field(description="Open markets without a quote yet")
    newest_quote_at: datetime | None = None
    newest_metadata_at: datetime | None = None
    newest_trade_at: datetime | None = Field(None, description="The newest trade of the last 48 h")
    quote_age_p50: float | None = Field(None, description="Open quotes, seconds at measured_at")
    quote_age_p90: float | None = Field(None, description="Open quotes, seconds at measured_at")
    measured_at: datetime | None = None
    refreshed_at: datetime | None = None


class PriorityFreshness(Freshness):
    priority: str


class JobCounts(BaseModel):
    queued: int
    running: int
    failed: int


class QuarantineItem(BaseModel):
    at: datetime
    endpoint: str
    item_id: str | None = None
    reason: str | None = Field(description="Why it was set aside; null unless details are shown")


class Quarantine(BaseModel):
    count: int
    latest: QuarantineItem | None = None


class SyncError(BaseModel):
    at: datetime
    job_id: int
    kind: str
    status: str = Field(description="queued (to be retried) or failed (given up)")
    attempts: int
    error: str | None = Field(description="The error's text; null unless details are shown")


class VenueStatus(BaseModel):
    venue: str
    enabled: bool
    budget_per_minute: int = Field(description="Requests a minute the workers may send")
    requests_last_minute: int
    requests_last_hour: int
    errors_last_hour: int
    retries_last_hour: int
    jobs: JobCounts
    quarantine: Quarantine
    errors: list[SyncError] = Field(description="The newest jobs whose last attempt failed")
    freshness: Freshness | None = None
    priorities: list[PriorityFreshness]


class Upkeep(BaseModel):
    name: str
    last_run_at: datetime | None = None
    rows: int = Field(description="Markets folded in (gold, matcher) or rows pruned")


class DatabaseSize(BaseModel):
    size_bytes: int
    measured_at: datetime = Field(
        description="When the size was measured: at most a minute before `as_of`"
    )


class HubStatus(BaseModel):
    as_of: datetime = Field(description="When the database was read")
    database: DatabaseSize
    venues: list[VenueStatus]
    upkeep: list[Upkeep]
    details_hidden: bool = Field(
        False,
        description="Error and quarantine texts are left out: they are shown to an admin key,"
        " or to anyone on a hub without keys",
    )


class Venues(BaseModel):
    venues: list[VenueFreshness]
    tiers: dict[str, float]
    database_only_mode: bool


class RefreshOutcome(BaseModel):
    status: Literal["refreshed", "not_found", "wrong_venue", "invalid", "failed"]
    market_id: int | None = Field(None, description="Our id, when the id named a market")
    reason: str | None = Field(None, description="Why it was not refreshed")


class RefreshResult(BaseModel):
    venue: str
    scope: Literal["quotes", "markets"]
    markets: int = Field(description="Markets of the venue that were to be refreshed")
    refreshed: int
    errors: dict[str, str] = Field(default_factory=dict)
    outcomes: dict[str, RefreshOutcome] = Field(
        default_factory=dict,
        description="Each requested id (or, without ids, each market refreshed) to its outcome",
    )


class Health(BaseModel):
    status: str
    details: dict[str, Any] = Field(default_factory=dict)


class LegacyMarket(BaseModel):
    """The market object of the price route that apps are moving off."""

    conditionId: str | None = None
    question: str
    slug: str | None = None
    outcomes: list[str]
    outcomePrices: list[str]
    closed: bool
    resolved: bool
    resolvedOutcome: str | None = None
    endDate: datetime | None = None
    volume: float | None = None
    volume24hr: float | None = None
    liquidity: float | None = None
    bestBid: float | None = None
    bestAsk: float | None = None
    lastPriceUpdatedAt: datetime | None = None
    cached: bool
    stale: bool
    staleReason: str | None = None


class LegacyPrice(BaseModel):
    success: bool
    market: LegacyMarket


class LegacyBatchPrices(BaseModel):
    """The batch route's answer: each condition id to the single route's `market` shape."""

    success: bool
    markets: dict[str, LegacyMarket] = Field(
        description="Each condition id found, as given, to its market (the single route's shape)"
    )
    errors: dict[str, ErrorDetail] = Field(
        default_factory=dict, description="Each condition id that has no answer, to why"
    )
