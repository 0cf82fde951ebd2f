"""Pure parsers from Kalshi trade API v2 JSON to the unified model.

Only the current fixed-point schema is read: prices from `*_dollars` strings,
counts from `*_fp` strings (fractional since 2026), never the removed integer
cent fields. Every Kalshi market is binary: outcome 0 is Yes, 1 is No, and
the venue quotes the No side as the complement of the Yes side.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from predhub.models import (
    BookLevel,
    DataError,
    Event,
    Market,
    MarketStatus,
    OrderBook,
    Outcome,
    PricePoint,
    Quote,
    Resolution,
    Trade,
)
from predhub.venues.normalize import (
    ONE,
    ZERO,
    ItemInvalid,
    amount,
    complement,
    iso_time,
    key_id,
    obj,
    opt,
    opt_list,
    opt_str,
    page_list,
    parse_page,
    price,
    req,
    req_str,
    unix_seconds,
)

VENUE = "kalshi"

_OPEN = frozenset({"initialized", "unopened", "active", "open"})
_CLOSED = frozenset({"closed", "inactive", "paused", "disputed"})
_FINAL = frozenset({"determined", "settled", "finalized", "amended"})
_VOID_RESULTS = frozenset({"", "void", "voided"})

market_id = key_id("ticker")
event_id = key_id("event_ticker")
trade_id = key_id("trade_id")


def parse_status(
    status: str, result: str, settlement_value: Decimal | None
) -> tuple[MarketStatus, Resolution | None]:
    """Map Kalshi's lifecycle status and result to ours.

    A determined market whose result is still empty is waiting for its result,
    so it stays closed; a settled or finalized one with no result was voided.
    """
    if status in _OPEN:
        return MarketStatus.OPEN, None
    if status in _CLOSED:
        return MarketStatus.CLOSED, None
    if status not in _FINAL:
        raise ItemInvalid(f"unknown status {status!r}")
    if result == "yes":
        yes = settlement_value if settlement_value is not None else ONE
        return MarketStatus.RESOLVED, Resolution(winning_outcome=0, payouts=[yes, complement(yes)])
    if result == "no":
        yes = settlement_value if settlement_value is not None else ZERO
        return MarketStatus.RESOLVED, Resolution(winning_outcome=1, payouts=[yes, complement(yes)])
    if result == "scalar":
        if settlement_value is None:
            raise ItemInvalid("scalar result without settlement_value_dollars")
        return MarketStatus.RESOLVED, Resolution(
            payouts=[settlement_value, complement(settlement_value)]
        )
    if result in _VOID_RESULTS:
        if status == "determined" and result == "":
            return MarketStatus.CLOSED, None
        return MarketStatus.VOIDED, Resolution(is_void=True)
    raise ItemInvalid(f"unknown result {result!r}")


def _side(m: Mapping[str, Any], price_key: str, size_key: str, *, ask: bool) -> Decimal | None:
    """A best bid/ask, or None where Kalshi fills an empty side with a sentinel.

    An empty side is reported with size "0.00" and price "0.0000" (bid) or
    "1.0000"/"0.0000" (ask); neither is a price anyone can trade at.
    """
    value = opt(m, price_key, price)
    size = opt(m, size_key, amount)
    if value is None or size == ZERO:
        return None
    if value == ZERO or (ask and value == ONE):
        return None
    return value


def _tick_size(m: Mapping[str, Any]) -> Decimal | None:
    steps = [
        amount(obj(r, "price range").get("step"), "price range step")
        for r in opt_list(m, "price_ranges")
    ]
    return min(steps) if steps else None


def parse_market(item: Any, event: Mapping[str, Any] | None = None) -> Market:
    """One Kalshi market; `event` is its parent when the market came nested in one."""
    m = obj(item, "market")
    ticker = req_str(m, "ticker")
    status_text = req_str(m, "status")
    result = opt_str(m, "result") or ""
    status, resolution = parse_status(
        status_text, result, opt(m, "settlement_value_dollars", price)
    )
    if resolution is not None:
        resolution.resolved_at = opt(m, "settlement_ts", iso_time)
        resolution.source = "settlement"  # the market's result and settlement value
    volume = opt(m, "volume_fp", amount)
    last = opt(m, "last_price_dollars", price)
    if last is not None and volume == ZERO:
        last = None  # "0.0000" on a market that never traded
    question = opt_str(m, "title") or opt_str(m, "yes_sub_title") or ticker
    yes_label = opt_str(m, "yes_sub_title")
    no_label = opt_str(m, "no_sub_title")
    extra: dict[str, Any] = {
        key: m[key]
        for key in (
            "market_type",
            "subtitle",
            "strike_type",
            "floor_strike",
            "cap_strike",
            "custom_strike",
            "open_time",
            "expected_expiration_time",
            "latest_expiration_time",
            "can_close_early",
            "price_level_structure",
            "expiration_value",
            "rules_secondary",
        )
        if m.get(key) not in (None, "")
    }
    if yes_label:
        extra["yes_sub_title"] = yes_label
    if no_label:
        extra["no_sub_title"] = no_label
    event_ticker = opt_str(m, "event_ticker")
    event_title = category = None
    if event is not None:
        event_title = opt_str(event, "title")
        category = opt_str(event, "category")
        if series := opt_str(event, "series_ticker"):
            extra["series_ticker"] = series
    # Kalshi groups markets by category and series: those are the tags it gives
    venue_tags = [t for t in (category, extra.get("series_ticker")) if isinstance(t, str) and t]
    if venue_tags:
        extra["venue_tags"] = venue_tags
    return Market(
        venue=VENUE,
        native_id=ticker,
        ticker=ticker,
        question=question,
        outcomes=[
            Outcome(index=0, label="Yes", price=last),
            Outcome(index=1, label="No", price=complement(last) if last is not None else None),
        ],
        status=status,
        event_native_id=event_ticker,
        event_title=event_title,
        description=opt_str(m, "rules_primary"),
        category=category,
        end_at=opt(m, "close_time", iso_time),
        updated_at=opt(m, "updated_time", iso_time),
        volume_total=volume,
        volume_24h=opt(m, "volume_24h_fp", amount),
        open_interest=opt(m, "open_interest_fp", amount),
        tick_size=_tick_size(m),
        resolution=resolution,
        best_bid=_side(m, "yes_bid_dollars", "yes_bid_size_fp", ask=False),
        best_ask=_side(m, "yes_ask_dollars", "yes_ask_size_fp", ask=True),
        last_price=last,
        extra=extra,
    )


def _event_status(markets: list[Market]) -> MarketStatus:
    if not markets or any(m.status is MarketStatus.OPEN for m in markets):
        return MarketStatus.OPEN
    if any(m.status is MarketStatus.CLOSED for m in markets):
        return MarketStatus.CLOSED
    if all(m.status is MarketStatus.VOIDED for m in markets):
        return MarketStatus.VOIDED
    return MarketStatus.RESOLVED


def parse_event(item: Any, markets: list[Market] | None = None) -> Event:
    """One Kalshi event; `markets` are its already-parsed nested markets, if any."""
    e = obj(item, "event")
    ticker = req_str(e, "event_ticker")
    title = req_str(e, "title")
    markets = markets or []
    volumes = [m.volume_total for m in markets if m.volume_total is not None]
    extra = {
        key: e[key]
        for key in (
            "series_ticker",
            "sub_title",
            "collateral_return_type",
            "strike_period",
            "product_metadata",
            "available_on_brokers",
        )
        if e.get(key) not in (None, "")
    }
    mutually_exclusive = e.get("mutually_exclusive")
    if mutually_exclusive is not None and not isinstance(mutually_exclusive, bool):
        raise ItemInvalid("field 'mutually_exclusive' is not a boolean")
    return Event(
        venue=VENUE,
        native_id=ticker,
        title=title,
        description=opt_str(e, "sub_title"),
        category=opt_str(e, "category"),
        end_at=opt(e, "strike_date", iso_time),
        mutually_exclusive=bool(mutually_exclusive),
        status=_event_status(markets),
        volume_total=sum(volumes, ZERO) if volumes else None,
        extra=extra,
    )


def parse_markets_page(
    body: Any, endpoint: str = "/markets"
) -> tuple[list[Market], list[DataError], str]:
    """A `/markets` page: markets, per-item errors and the next cursor ("" = last page)."""
    items = page_list(body, "markets")
    markets, errors = parse_page(VENUE, endpoint, items, parse_market, market_id)
    return markets, errors, cursor_of(body)


def parse_market_body(body: Any) -> Market:
    """A `/markets/{ticker}` body: {"market": {...}}."""
    return parse_market(req(obj(body, "response body"), "market"))


def parse_events_page(
    body: Any, endpoint: str = "/events"
) -> tuple[list[Event], list[Market], list[DataError], str]:
    """An `/events?with_nested_markets=true` page: events, their markets, errors, cursor.

    A bad market costs only itself; its event is still returned with the rest.
    """
    events: list[Event] = []
    markets: list[Market] = []
    errors: list[DataError] = []
    for item in page_list(body, "events"):
        nested: list[Market] = []
        if isinstance(item, Mapping):
            try:
                raw_markets = opt_list(item, "markets")
            except ItemInvalid as exc:
                errors.append(DataError(VENUE, endpoint, event_id(item), exc.reason, item))
                continue
            nested, bad = parse_page(
                VENUE, endpoint, raw_markets, partial(parse_market, event=item), market_id
            )
            errors.extend(bad)
        try:
            events.append(parse_event(item, nested))
        except ItemInvalid as exc:
            errors.append(DataError(VENUE, endpoint, event_id(item), exc.reason, item))
            continue
        markets.extend(nested)
    return events, markets, errors, cursor_of(body)


def cursor_of(body: Any) -> str:
    value = obj(body, "response body").get("cursor")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ItemInvalid("field 'cursor' is not a string")
    return value


def _levels(raw: Any, what: str) -> list[tuple[Decimal, Decimal]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ItemInvalid(f"{what} is {type(raw).__name__}, expected a list")
    levels = []
    for level in raw:
        if not isinstance(level, list) or len(level) < 2:
            raise ItemInvalid(f"{what} level {level!r} is not [price, count]")
        levels.append((price(level[0], f"{what} price"), amount(level[1], f"{what} count")))
    return levels


def parse_orderbook(ticker: str, book: Any, observed_at: datetime) -> list[OrderBook]:
    """A bids-only Kalshi book as two unified books, Yes (0) and No (1).

    Kalshi lists only bids, each side ascending: a Yes bid at x is a No ask at
    1 - x and a No bid at y is a Yes ask at 1 - y. Each unified book has bids
    best (highest) first and asks best (lowest) first.
    """
    fp = obj(book, "orderbook_fp")
    if "yes_dollars" not in fp or "no_dollars" not in fp:
        raise ItemInvalid("orderbook_fp lacks yes_dollars/no_dollars", ticker)
    yes_bids = sorted(_levels(fp["yes_dollars"], "yes_dollars"), key=lambda lv: lv[0], reverse=True)
    no_bids = sorted(_levels(fp["no_dollars"], "no_dollars"), key=lambda lv: lv[0], reverse=True)

    def as_asks(bids: list[tuple[Decimal, Decimal]]) -> list[BookLevel]:
        return [BookLevel(complement(p), s) for p, s in bids]  # highest bid = lowest ask

    return [
        OrderBook(
            venue=VENUE,
            market_native_id=ticker,
            outcome_index=0,
            observed_at=observed_at,
            bids=[BookLevel(p, s) for p, s in yes_bids],
            asks=as_asks(no_bids),
        ),
        OrderBook(
            venue=VENUE,
            market_native_id=ticker,
            outcome_index=1,
            observed_at=observed_at,
            bids=[BookLevel(p, s) for p, s in no_bids],
            asks=as_asks(yes_bids),
        ),
    ]


def parse_orderbook_body(ticker: str, body: Any, observed_at: datetime) -> list[OrderBook]:
    """A `/markets/{ticker}/orderbook` body."""
    return parse_orderbook(ticker, req(obj(body, "response body"), "orderbook_fp"), observed_at)


def parse_orderbooks_page(
    body: Any, observed_at: datetime, endpoint: str = "/markets/orderbooks"
) -> tuple[list[OrderBook], list[DataError]]:
    """A batch `/markets/orderbooks` body: {"orderbooks": [{"ticker", "orderbook_fp"}]}."""

    def one(item: Any) -> list[OrderBook]:
        entry = obj(item, "orderbook")
        ticker = req_str(entry, "ticker")
        return parse_orderbook(ticker, req(entry, "orderbook_fp"), observed_at)

    nested, errors = parse_page(VENUE, endpoint, page_list(body, "orderbooks"), one, market_id)
    return [book for pair in nested for book in pair], errors


def parse_trade(item: Any) -> Trade:
    """One trade, expressed on the Yes outcome.

    Buying No is selling Yes, so every Kalshi trade is stored as a Yes trade at
    `yes_price_dollars`, with the taker's side on the Yes book.
    """
    t = obj(item, "trade")
    key = req_str(t, "trade_id")
    book_side = opt_str(t, "taker_book_side")
    outcome_side = opt_str(t, "taker_outcome_side") or opt_str(t, "taker_side")
    if book_side in ("bid", "ask"):
        side = "buy" if book_side == "bid" else "sell"
    elif outcome_side in ("yes", "no"):
        side = "buy" if outcome_side == "yes" else "sell"
    elif book_side is None and outcome_side is None:
        side = None
    else:
        raise ItemInvalid(f"unknown taker side {book_side or outcome_side!r}", key)
    extra = {k: t[k] for k in ("taker_outcome_side", "taker_book_side", "is_block_trade") if k in t}
    if t.get("no_price_dollars") is not None:
        extra["no_price_dollars"] = t["no_price_dollars"]
    return Trade(
        venue=VENUE,
        market_native_id=req_str(t, "ticker"),
        trade_key=key,
        price=price(req(t, "yes_price_dollars"), "yes_price_dollars"),
        size=amount(req(t, "count_fp"), "count_fp"),
        executed_at=iso_time(req(t, "created_time"), "created_time"),
        outcome_index=0,
        side=side,
        extra=extra,
    )


def parse_trades_page(
    body: Any, endpoint: str = "/markets/trades"
) -> tuple[list[Trade], list[DataError], str]:
    trades, errors = parse_page(VENUE, endpoint, page_list(body, "trades"), parse_trade, trade_id)
    return trades, errors, cursor_of(body)


def _candle_price(candle: Mapping[str, Any], historical: bool) -> Decimal | None:
    """The Yes price a candle stands for: its last trade, else the last one before it.

    Candles without trades carry no close; the previous close is then still
    the market's last traded price, which is what a price chart shows. Live
    candles spell dollars `close_dollars`; archived (`/historical`) ones
    spell them `close` (live `close` was integer cents, now removed).
    """
    prices = candle.get("price")
    if prices is None:
        return None
    p = obj(prices, "candle price")
    suffix = "" if historical else "_dollars"
    close = opt(p, "close" + suffix, price)
    return close if close is not None else opt(p, "previous" + suffix, price)


def parse_candlesticks(
    ticker: str,
    body: Any,
    endpoint: str = "/series/{series_ticker}/markets/{ticker}/candlesticks",
    *,
    historical: bool = False,
) -> tuple[list[PricePoint], list[DataError]]:
    """Candlesticks as price points for Yes (0) and No (1, the complement)."""

    def one(item: Any) -> list[PricePoint]:
        c = obj(item, "candlestick")
        ts = unix_seconds(req(c, "end_period_ts"), "end_period_ts")
        yes = _candle_price(c, historical)
        if yes is None:
            return []
        return [
            PricePoint(VENUE, ticker, 0, ts, yes),
            PricePoint(VENUE, ticker, 1, ts, complement(yes)),
        ]

    nested, errors = parse_page(
        VENUE, endpoint, page_list(body, "candlesticks"), one, key_id("end_period_ts")
    )
    return [point for pair in nested for point in pair], errors


BATCH_CANDLES_ENDPOINT = "/markets/candlesticks"


def parse_batch_candlesticks(
    body: Any, tickers: Collection[str], endpoint: str = BATCH_CANDLES_ENDPOINT
) -> tuple[list[PricePoint], list[DataError], dict[str, int]]:
    """`/markets/candlesticks`: price points, data errors, and candles per market answered.

    An entry for a market not asked for, or without a ticker, is a data error
    (its candles are not kept); a market left out of the answer is simply
    absent from the counts.
    """
    points: list[PricePoint] = []
    errors: list[DataError] = []
    counts: dict[str, int] = {}
    for entry in page_list(body, "markets"):
        try:
            e = obj(entry, "market candlesticks")
            ticker = req_str(e, "market_ticker")
            if ticker not in tickers:
                raise ItemInvalid(f"candlesticks of a market not asked for: {ticker[:70]!r}")
            candles = page_list(e, "candlesticks")
        except ItemInvalid as exc:
            errors.append(DataError(VENUE, endpoint, None, str(exc), entry))
            continue
        got, bad = parse_candlesticks(ticker, {"candlesticks": candles}, endpoint)
        counts[ticker] = counts.get(ticker, 0) + len(candles)
        points.extend(got)
        errors.extend(bad)
    return points, errors, counts


def quotes_from_market(market: Market, observed_at: datetime) -> list[Quote]:
    """Quotes for both outcomes from a parsed market's Yes bid/ask/last."""
    return quotes_from_yes(
        market.native_id, observed_at, market.best_bid, market.best_ask, market.last_price
    )


def quotes_from_yes(
    ticker: str,
    observed_at: datetime,
    bid: Decimal | None,
    ask: Decimal | None,
    last: Decimal | None,
) -> list[Quote]:
    """Quotes for both outcomes from the Yes bid/ask/last (No is their complement)."""
    no_bid = complement(ask) if ask is not None else None
    no_ask = complement(bid) if bid is not None else None
    no_last = complement(last) if last is not None else None
    return [
        _quote(ticker, 0, observed_at, bid, ask, last),
        _quote(ticker, 1, observed_at, no_bid, no_ask, no_last),
    ]


def _quote(
    ticker: str,
    index: int,
    observed_at: datetime,
    bid: Decimal | None,
    ask: Decimal | None,
    last: Decimal | None,
) -> Quote:
    mid = (bid + ask) / 2 if bid is not None and ask is not None else None
    return Quote(
        venue=VENUE,
        market_native_id=ticker,
        outcome_index=index,
        observed_at=observed_at,
        best_bid=bid,
        best_ask=ask,
        mid=mid,
        last=last,
        price=mid if mid is not None else last,
    )
