"""Pure parsers: Polymarket JSON (Gamma, CLOB, Data API, WebSocket) to unified objects.

No I/O here; every function is tested on recorded responses alone. A parser
raises `ItemInvalid` on an item it cannot trust, and the page helpers turn
that into a `DataError` so the rest of the page survives.

Polymarket quirks handled here:

- Gamma encodes `outcomes`, `outcomePrices`, `clobTokenIds` and
  `umaResolutionStatuses` as JSON *strings* holding a list.
- A closed market is not necessarily resolved: a 2020 AMM market can be
  `closed` with prices like 0.99999995 / 0.00000004. It is RESOLVED only when
  its outcome prices are exactly one "1" and zeros, or when UMA says
  `resolved`; resolved at 50/50 (every price equal) is VOIDED.
- CLOB books list bids ascending and asks descending (best last); the
  unified `OrderBook` is best first, so levels are sorted, never trusted.
- CLOB `/prices` answers, per token, the best price on each side of the
  book: `BUY` is the best bid and `SELL` the best ask (recorded: book
  0.42/0.43, `/price?side=BUY` 0.42).
- Data API trades carry no trade id. `trade_key` is
  `"{transactionHash}:{outcomeIndex}:{side}:{size}:{price}"` with size and
  price normalized (`Decimal.normalize`), because one transaction can hold
  several fills; the same fill read from the WebSocket `last_trade_price`
  frame gets the same key, so REST and stream deduplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from predhub.models import (
    BookLevel,
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
    ItemInvalid,
    amount,
    decimal,
    iso_time,
    key_id,
    media,
    obj,
    opt,
    opt_str,
    price,
    req,
    req_str,
    unix_millis,
    unix_seconds,
)

VENUE = "polymarket"
ZERO = Decimal(0)
ONE = Decimal(1)


def json_list(value: Any, what: str) -> list[Any]:
    """A list that Gamma may send as a real list or as a JSON-encoded string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ItemInvalid(f"field {what!r} is not a JSON-encoded list") from None
    if not isinstance(value, list):
        raise ItemInvalid(f"field {what!r} is {type(value).__name__}, expected a list")
    return value


def _bool(item: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = item.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ItemInvalid(f"field {key!r} is {type(value).__name__}, expected a boolean")


def _time(item: Mapping[str, Any], key: str) -> datetime | None:
    return opt(item, key, iso_time)


def _num(item: Mapping[str, Any], *keys: str) -> Decimal | None:
    """The first present of several spellings of an amount (e.g. volumeNum, volume)."""
    for key in keys:
        value = opt(item, key, amount)
        if value is not None:
            return value
    return None


def resolution_of(
    closed: bool,
    prices: list[Decimal],
    uma_statuses: list[str],
    resolved_at: datetime | None,
) -> tuple[MarketStatus, Resolution | None]:
    """Status and resolution from Gamma's closed flag, payout prices and UMA statuses."""
    if not closed:
        return MarketStatus.OPEN, None
    uma_resolved = bool(uma_statuses) and uma_statuses[-1] == "resolved"
    source = "uma" if uma_resolved else "outcome_prices"
    if prices and all(p in (ZERO, ONE) for p in prices) and prices.count(ONE) == 1:
        winner = prices.index(ONE)
        return MarketStatus.RESOLVED, Resolution(
            winning_outcome=winner, payouts=prices, source=source, resolved_at=resolved_at
        )
    if uma_resolved and prices:
        if len(set(prices)) == 1:  # 50/50: every outcome pays the same
            return MarketStatus.VOIDED, Resolution(
                is_void=True, payouts=prices, source=source, resolved_at=resolved_at
            )
        return MarketStatus.RESOLVED, Resolution(
            payouts=prices, source=source, resolved_at=resolved_at
        )
    return MarketStatus.CLOSED, None


def parse_gamma_market(item: Any) -> Market:
    """One Gamma market (list item, keyset item or by-id object)."""
    m = obj(item, "market")
    native_id = req_str(m, "id")
    try:
        return _gamma_market(m, native_id)
    except ItemInvalid as exc:
        exc.item_id = exc.item_id or native_id
        raise


def _gamma_market(m: Mapping[str, Any], native_id: str) -> Market:
    labels = [str(x) for x in json_list(m.get("outcomes"), "outcomes")]
    if len(labels) < 2:
        raise ItemInvalid(f"market has {len(labels)} outcomes, expected at least 2")
    raw_prices = json_list(m.get("outcomePrices"), "outcomePrices")
    prices = [price(p, "outcomePrices") for p in raw_prices]
    tokens = [str(t) for t in json_list(m.get("clobTokenIds"), "clobTokenIds")]
    if prices and len(prices) != len(labels):
        raise ItemInvalid(f"{len(prices)} outcomePrices for {len(labels)} outcomes")
    if tokens and len(tokens) != len(labels):
        raise ItemInvalid(f"{len(tokens)} clobTokenIds for {len(labels)} outcomes")
    outcomes = [
        Outcome(
            index=i,
            label=label,
            token_id=tokens[i] if tokens else None,
            price=prices[i] if prices else None,
        )
        for i, label in enumerate(labels)
    ]
    uma = [str(s) for s in json_list(m.get("umaResolutionStatuses"), "umaResolutionStatuses")]
    single = opt_str(m, "umaResolutionStatus")
    if single and (not uma or uma[-1] != single):
        uma.append(single)
    closed = _bool(m, "closed")
    closed_at = _time(m, "closedTime")
    status, resolution = resolution_of(closed, prices, uma, closed_at)
    events = m.get("events")
    event = events[0] if isinstance(events, list) and events and isinstance(events[0], dict) else {}
    extra = {
        key: m[key]
        for key in (
            "active",
            "archived",
            "acceptingOrders",
            "enableOrderBook",
            "negRisk",
            "negRiskMarketID",
            "questionID",
            "groupItemTitle",
            "marketMakerAddress",
            "feesEnabled",
            "feeType",
            "feeSchedule",
            "umaResolutionStatuses",
            "closedTime",
        )
        if m.get(key) not in (None, "")
    }
    extra.update(media(m, image="image", icon="icon"))
    tags = _tag_labels(m.get("tags")) or _tag_labels(event.get("tags"))
    if tags:
        extra["venue_tags"] = tags
    return Market(
        venue=VENUE,
        native_id=native_id,
        question=req_str(m, "question"),
        outcomes=outcomes,
        status=status,
        event_native_id=opt_str(event, "id"),
        event_title=opt_str(event, "title"),
        condition_id=opt_str(m, "conditionId"),
        slug=opt_str(m, "slug"),
        description=opt_str(m, "description"),
        category=opt_str(m, "category"),
        end_at=_time(m, "endDate"),
        updated_at=_time(m, "updatedAt"),
        volume_total=_num(m, "volumeNum", "volume"),
        volume_24h=_num(m, "volume24hr"),
        liquidity=_num(m, "liquidityNum", "liquidity"),
        tick_size=opt(m, "orderPriceMinTickSize", decimal),
        resolution=resolution,
        best_bid=opt(m, "bestBid", price),
        best_ask=opt(m, "bestAsk", price),
        last_price=opt(m, "lastTradePrice", price),
        extra=extra,
    )


def _tag_labels(tags: Any) -> list[str]:
    """Gamma tags (`[{"id", "label", "slug"}]`) as the labels the venue shows."""
    if not isinstance(tags, list):
        return []
    return [
        str(t.get("label") or t.get("slug"))
        for t in tags
        if isinstance(t, dict) and (t.get("label") or t.get("slug"))
    ]


def parse_gamma_event(item: Any) -> Event:
    """One Gamma event (its nested markets are read by `event_markets`)."""
    e = obj(item, "event")
    native_id = req_str(e, "id")
    try:
        tags = _tag_labels(e.get("tags"))
        neg_risk = _bool(e, "negRisk")
        return Event(
            venue=VENUE,
            native_id=native_id,
            title=req_str(e, "title"),
            slug=opt_str(e, "slug"),
            description=opt_str(e, "description"),
            category=opt_str(e, "category") or (tags[0] if tags else None),
            tags=tags,
            start_at=_time(e, "startDate"),
            end_at=_time(e, "endDate"),
            neg_risk=neg_risk,
            mutually_exclusive=neg_risk,  # neg-risk events have exactly one winning market
            status=MarketStatus.CLOSED if _bool(e, "closed") else MarketStatus.OPEN,
            volume_total=_num(e, "volume"),
            extra={
                **{k: e[k] for k in ("ticker", "negRiskMarketID", "openInterest") if k in e},
                **media(e, image="image", icon="icon"),
            },
        )
    except ItemInvalid as exc:
        exc.item_id = exc.item_id or native_id
        raise


def parse_clob_market(item: Any, native_id: str | None = None) -> Market:
    """A CLOB `/markets/{condition_id}` object; `native_id` is the Gamma id when known."""
    m = obj(item, "market")
    condition_id = req_str(m, "condition_id")
    tokens = req(m, "tokens")
    if not isinstance(tokens, list) or len(tokens) < 2:
        raise ItemInvalid("field 'tokens' must list at least 2 outcomes", condition_id)
    outcomes: list[Outcome] = []
    prices: list[Decimal] = []
    winner: int | None = None
    for i, tok in enumerate(tokens):
        t = obj(tok, "token")
        p = price(req(t, "price"), "tokens.price")
        prices.append(p)
        outcomes.append(
            Outcome(index=i, label=req_str(t, "outcome"), token_id=req_str(t, "token_id"), price=p)
        )
        if _bool(t, "winner"):
            winner = i
    closed = _bool(m, "closed")
    if closed and winner is not None:
        status = MarketStatus.RESOLVED
        resolution: Resolution | None = Resolution(
            winning_outcome=winner, payouts=prices, source="clob_winner"
        )
    else:
        status, resolution = resolution_of(closed, prices, [], None)
    return Market(
        venue=VENUE,
        native_id=native_id or condition_id,
        question=req_str(m, "question"),
        outcomes=outcomes,
        status=status,
        condition_id=condition_id,
        slug=opt_str(m, "market_slug"),
        description=opt_str(m, "description"),
        end_at=_time(m, "end_date_iso"),
        tick_size=opt(m, "minimum_tick_size", decimal),
        resolution=resolution,
        extra={k: m[k] for k in ("neg_risk", "accepting_orders", "tags") if k in m},
    )


def _levels(raw: Any, what: str, *, descending: bool) -> list[BookLevel]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ItemInvalid(f"field {what!r} is {type(raw).__name__}, expected a list")
    levels = []
    for lvl in raw:
        level = obj(lvl, what)
        levels.append(
            BookLevel(price=price(req(level, "price"), what), size=amount(req(level, "size"), what))
        )
    levels.sort(key=lambda x: x.price, reverse=descending)
    return levels


def parse_book(item: Any, market_native_id: str, outcome_index: int) -> OrderBook:
    """A CLOB book (REST or the WebSocket `book` frame), best level first."""
    b = obj(item, "book")
    token = req_str(b, "asset_id")
    try:
        return OrderBook(
            venue=VENUE,
            market_native_id=market_native_id,
            outcome_index=outcome_index,
            observed_at=unix_millis(req(b, "timestamp"), "timestamp"),
            bids=_levels(b.get("bids"), "bids", descending=True),
            asks=_levels(b.get("asks"), "asks", descending=False),
            token_id=token,
            book_hash=opt_str(b, "hash"),
        )
    except ItemInvalid as exc:
        exc.item_id = exc.item_id or token
        raise


def parse_price_history(
    body: Any, market_native_id: str, outcome_index: int, token_id: str | None
) -> list[PricePoint]:
    """CLOB `/prices-history` {"history": [{"t": unix_s, "p": price}]}."""
    history = obj(body, "response body").get("history")
    if not isinstance(history, list):
        raise ItemInvalid("field 'history' is missing or not a list", token_id)
    points = []
    for row in history:
        r = obj(row, "history point")
        points.append(
            PricePoint(
                venue=VENUE,
                market_native_id=market_native_id,
                outcome_index=outcome_index,
                ts=unix_seconds(req(r, "t"), "t"),
                price=price(req(r, "p"), "p"),
                token_id=token_id,
            )
        )
    return points


def trade_key(tx_hash: str, outcome_index: int | str, side: str, size: Decimal, px: Decimal) -> str:
    """Identity of one fill (see the module docstring)."""
    return f"{tx_hash}:{outcome_index}:{side.upper()}:{size.normalize():f}:{px.normalize():f}"


def parse_trade(item: Any, market_native_id: str) -> Trade:
    """One Data API `/trades` row."""
    t = obj(item, "trade")
    tx = req_str(t, "transactionHash")
    try:
        size = amount(req(t, "size"), "size")
        px = price(req(t, "price"), "price")
        side = req_str(t, "side").upper()
        if side not in ("BUY", "SELL"):
            raise ItemInvalid(f"unknown side {side[:10]!r}")
        index_raw = req(t, "outcomeIndex")
        if isinstance(index_raw, bool) or not isinstance(index_raw, int) or index_raw < 0:
            raise ItemInvalid(f"outcomeIndex {index_raw!r} is not a small integer")
        return Trade(
            venue=VENUE,
            market_native_id=market_native_id,
            trade_key=trade_key(tx, index_raw, side, size, px),
            price=px,
            size=size,
            executed_at=unix_seconds(req(t, "timestamp"), "timestamp"),
            outcome_index=index_raw,
            token_id=opt_str(t, "asset"),
            side=side.lower(),
            tx_hash=tx,
            extra={k: t[k] for k in ("proxyWallet", "conditionId", "outcome") if k in t},
        )
    except ItemInvalid as exc:
        exc.item_id = exc.item_id or tx
        raise


def parse_ws_trade(item: Any, market_native_id: str, outcome_index: int) -> Trade:
    """A WebSocket `last_trade_price` frame as a trade (same key as the Data API row)."""
    t = obj(item, "frame")
    tx = req_str(t, "transaction_hash")
    size = amount(req(t, "size"), "size")
    px = price(req(t, "price"), "price")
    side = req_str(t, "side").upper()
    return Trade(
        venue=VENUE,
        market_native_id=market_native_id,
        trade_key=trade_key(tx, outcome_index, side, size, px),
        price=px,
        size=size,
        executed_at=unix_millis(req(t, "timestamp"), "timestamp"),
        outcome_index=outcome_index,
        token_id=req_str(t, "asset_id"),
        side=side.lower(),
        tx_hash=tx,
    )


def parse_side_prices(
    body: Any, token: str, market_native_id: str, outcome_index: int, observed_at: datetime
) -> Quote | None:
    """One token's entry of CLOB `POST /prices` ({token: {"BUY": bid, "SELL": ask}})."""
    sides = obj(body, "response body").get(token)
    if sides is None:
        return None
    s = obj(sides, "prices entry")
    return Quote(
        venue=VENUE,
        market_native_id=market_native_id,
        outcome_index=outcome_index,
        observed_at=observed_at,
        token_id=token,
        best_bid=opt(s, "BUY", price),
        best_ask=opt(s, "SELL", price),
    )


def parse_ws_price_change(
    change: Any, market_native_id: str, outcome_index: int, observed_at: datetime
) -> Quote:
    """One entry of a WebSocket `price_change` frame's `price_changes`."""
    c = obj(change, "price change")
    return Quote(
        venue=VENUE,
        market_native_id=market_native_id,
        outcome_index=outcome_index,
        observed_at=observed_at,
        token_id=req_str(c, "asset_id"),
        best_bid=opt(c, "best_bid", price),
        best_ask=opt(c, "best_ask", price),
    )


def parse_ws_message(
    message: Any, tokens: Mapping[str, tuple[str, int]], received_at: datetime
) -> tuple[list[Quote], list[Trade], list[OrderBook], list[tuple[str | None, str]]]:
    """One decoded WebSocket message (an event object, or a list of them: the first
    `book` arrives wrapped in a JSON array) -> quotes, trades, books and
    (item id, reason) for every part that failed validation.

    `tokens` maps each subscribed token id to (market native id, outcome index);
    frames about other tokens are ignored.
    """
    quotes: list[Quote] = []
    trades: list[Trade] = []
    books: list[OrderBook] = []
    errors: list[tuple[str | None, str]] = []
    frames = message if isinstance(message, list) else [message]
    for frame in frames:
        if not isinstance(frame, dict):
            errors.append((None, f"frame is {type(frame).__name__}, expected an object"))
            continue
        kind = frame.get("event_type")
        try:
            if kind == "book":
                token = req_str(frame, "asset_id")
                if token not in tokens:
                    continue
                market_id, index = tokens[token]
                book = parse_book(frame, market_id, index)
                books.append(book)
                quotes.append(book.quote(last=opt(frame, "last_trade_price", price)))
            elif kind == "price_change":
                at = opt(frame, "timestamp", unix_millis) or received_at
                changes = frame.get("price_changes")
                if not isinstance(changes, list):
                    raise ItemInvalid("price_change without a 'price_changes' list")
                for change in changes:
                    token = str(change.get("asset_id")) if isinstance(change, dict) else ""
                    if token in tokens:
                        quotes.append(parse_ws_price_change(change, *tokens[token], at))
            elif kind == "last_trade_price":
                token = req_str(frame, "asset_id")
                if token not in tokens:
                    continue
                trade = parse_ws_trade(frame, *tokens[token])
                trades.append(trade)
                quotes.append(
                    Quote(
                        VENUE,
                        trade.market_native_id,
                        tokens[token][1],
                        trade.executed_at,
                        token_id=token,
                        last=trade.price,
                    )
                )
            elif kind in ("tick_size_change", "best_bid_ask", "new_market", "market_resolved"):
                continue  # kept in the raw frame; nothing to normalize yet
            else:
                errors.append((None, f"unknown event_type {str(kind)[:30]!r}"))
        except ItemInvalid as exc:
            # the frame's own asset_id may be what was malformed: read it leniently
            errors.append((exc.item_id or key_id("asset_id")(frame), exc.reason))
    return quotes, trades, books, errors
