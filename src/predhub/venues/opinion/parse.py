"""Pure parsers from Opinion's OpenAPI JSON to the unified model.

Every Opinion response is an envelope `{"code", "msg", "result"}`; a non-zero
code is the venue refusing the request, which `unwrap` raises as
`EnvelopeError` (the adapter classifies it). Markets are binary (`marketType`
0) or categorical (1): a categorical parent becomes an event and each of its
`childMarkets` a binary market. Times are unix seconds, except order books
and latest prices (milliseconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
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
)
from predhub.venues.errors import EnvelopeError as EnvelopeError
from predhub.venues.normalize import (
    ONE,
    ZERO,
    ItemInvalid,
    amount,
    decimal,
    key_id,
    obj,
    opt,
    opt_list,
    opt_str,
    page_list,
    parse_grouped_page,
    parse_page,
    price,
    req,
    req_str,
    unix_millis,
    unix_seconds,
)

VENUE = "opinion"
BINARY, CATEGORICAL = 0, 1

# status int -> (enum text, our status); 4 = Resolved is settled by resultTokenId
_STATUSES: dict[int, tuple[str, MarketStatus]] = {
    1: ("Created", MarketStatus.OPEN),
    2: ("Activated", MarketStatus.OPEN),
    3: ("Resolving", MarketStatus.CLOSED),
    4: ("Resolved", MarketStatus.RESOLVED),
    5: ("Failed", MarketStatus.VOIDED),
    6: ("Deleted", MarketStatus.VOIDED),
}
_BY_ENUM = {text.lower(): code for code, (text, _) in _STATUSES.items()}

market_id = key_id("marketId")


def unwrap(body: Any) -> Any:
    """The `result` of an envelope, or EnvelopeError for a non-zero code."""
    envelope = obj(body, "response body")
    if "code" not in envelope:
        raise ItemInvalid("response is not an {code, msg, result} envelope")
    code = envelope["code"]
    if code != 0:
        raise EnvelopeError(code, str(envelope.get("msg") or "")[:200])
    return envelope.get("result")


def _status_code(m: Mapping[str, Any]) -> int:
    raw = m.get("status")
    if raw is None:
        text = opt_str(m, "statusEnum")
        if text is None:
            raise ItemInvalid("missing field 'status'")
        if text.lower() not in _BY_ENUM:
            raise ItemInvalid(f"unknown statusEnum {text!r}")
        return _BY_ENUM[text.lower()]
    code = decimal(raw, "status")
    if code != code.to_integral_value() or int(code) not in _STATUSES:
        raise ItemInvalid(f"unknown status {raw!r}")
    return int(code)


def _status(
    m: Mapping[str, Any], yes: str | None, no: str | None
) -> tuple[MarketStatus, Resolution | None]:
    code = _status_code(m)
    status = _STATUSES[code][1]
    resolved_at = opt(m, "resolvedAt", _seconds_or_none)
    if status is MarketStatus.VOIDED:
        return status, Resolution(is_void=True, resolved_at=resolved_at, source="result_token")
    if status is not MarketStatus.RESOLVED:
        return status, None
    result = opt_str(m, "resultTokenId")
    if result is None or result == "0":  # resolved with no winning token: voided
        return MarketStatus.VOIDED, Resolution(
            is_void=True, resolved_at=resolved_at, source="result_token"
        )
    if result == yes:
        return status, Resolution(
            winning_outcome=0, payouts=[ONE, ZERO], resolved_at=resolved_at, source="result_token"
        )
    if result == no:
        return status, Resolution(
            winning_outcome=1, payouts=[ZERO, ONE], resolved_at=resolved_at, source="result_token"
        )
    raise ItemInvalid(f"resultTokenId {result[:20]!r} is neither outcome's token")


def _seconds_or_none(value: Any, what: str) -> datetime | None:
    """Opinion writes 0 for a time that has not happened yet."""
    if decimal(value, what) == ZERO:
        return None
    return unix_seconds(value, what)


def parse_market(item: Any, parent: Mapping[str, Any] | None = None) -> Market:
    """A binary market (a top-level one, or a child of the categorical `parent`)."""
    m = obj(item, "market")
    native_id = req_str(m, "marketId")
    title = req_str(m, "marketTitle")
    yes_token = opt_str(m, "yesTokenId")
    no_token = opt_str(m, "noTokenId")
    status, resolution = _status(m, yes_token, no_token)
    extra: dict[str, Any] = {}
    for key in ("questionId", "quoteToken", "chainId", "volume7d", "rules"):
        if m.get(key) not in (None, ""):
            extra[key] = m[key]
    if isinstance(m.get("collection"), Mapping):
        extra["collection"] = m["collection"]
    parent_id = parent_title = None
    if parent is not None:
        parent_id = opt_str(parent, "marketId")
        parent_title = opt_str(parent, "marketTitle")
    return Market(
        venue=VENUE,
        native_id=native_id,
        question=title,
        outcomes=[
            Outcome(0, opt_str(m, "yesLabel") or "Yes", token_id=yes_token),
            Outcome(1, opt_str(m, "noLabel") or "No", token_id=no_token),
        ],
        status=status,
        event_native_id=parent_id,
        event_title=parent_title,
        condition_id=opt_str(m, "conditionId"),
        description=opt_str(m, "rules"),
        end_at=opt(m, "cutoffAt", _seconds_or_none),
        volume_total=opt(m, "volume", amount),
        volume_24h=opt(m, "volume24h", amount),
        resolution=resolution,
        extra=extra,
    )


def parse_categorical(item: Any) -> tuple[Event, list[Market], list[DataError]]:
    """A categorical parent: one event plus a binary market per child."""
    p = obj(item, "market")
    native_id = req_str(p, "marketId")
    title = req_str(p, "marketTitle")
    children, errors = parse_page(
        VENUE,
        "/market/categorical/{marketId}",
        opt_list(p, "childMarkets"),
        lambda child: parse_market(child, p),
        market_id,
    )
    code = _status_code(p)
    return (
        Event(
            venue=VENUE,
            native_id=native_id,
            title=title,
            description=opt_str(p, "rules"),
            start_at=opt(p, "createdAt", _seconds_or_none),
            end_at=opt(p, "cutoffAt", _seconds_or_none),
            mutually_exclusive=True,
            status=_STATUSES[code][1],
            volume_total=opt(p, "volume", amount),
            extra={k: p[k] for k in ("questionId", "chainId", "quoteToken") if p.get(k)},
        ),
        children,
        errors,
    )


def is_categorical(item: Mapping[str, Any]) -> bool:
    kind = item.get("marketType")
    return kind == CATEGORICAL or bool(item.get("childMarkets"))


def parse_item(item: Any) -> tuple[Event | None, list[Market], list[DataError]]:
    """A market-list entry: a binary market, or a categorical event and its children."""
    m = obj(item, "market")
    if is_categorical(m):
        return parse_categorical(m)
    kind = m.get("marketType")
    if kind is not None and kind != BINARY:
        raise ItemInvalid(f"unknown marketType {kind!r}")
    return None, [parse_market(m)], []


def parse_items(
    items: list[Any], endpoint: str
) -> tuple[list[Event], list[Market], list[DataError]]:
    return parse_grouped_page(VENUE, endpoint, items, parse_item, market_id)


def parse_market_list(
    body: Any, endpoint: str = "/market"
) -> tuple[list[Event], list[Market], list[DataError], int | None, list[Any]]:
    """A `/market` page: events, markets, errors, the total, and the raw list.

    Categorical entries listed without their children are returned as events
    only; the adapter fetches their detail to get the child markets.
    """
    result = obj(unwrap(body), "result")
    items = page_list(result, "list")
    total = result.get("total")
    events, markets, errors = parse_items(items, endpoint)
    return (
        events,
        markets,
        errors,
        int(decimal(total, "total")) if total is not None else None,
        items,
    )


def parse_market_detail(
    body: Any, endpoint: str = "/market/{marketId}"
) -> tuple[list[Event], list[Market], list[DataError]]:
    """A `/market/{id}` or `/market/categorical/{id}` body: result {"data": MarketData}."""
    result = obj(unwrap(body), "result")
    data = result.get("data", result)
    return parse_items([data], endpoint)


def parse_latest_price(
    market: str, index: int, token_id: str, body: Any, observed_at: datetime
) -> Quote:
    """`/token/latest-price`: the last trade price of one outcome token."""
    r = obj(unwrap(body), "result")
    last = price(req(r, "price"), "price")
    return Quote(
        venue=VENUE,
        market_native_id=market,
        outcome_index=index,
        observed_at=observed_at,  # when we looked; `timestamp` is the last trade's time
        token_id=opt_str(r, "tokenId") or token_id,
        last=last,
        price=last,
    )


def _levels(raw: Any, what: str) -> list[BookLevel]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ItemInvalid(f"{what} is {type(raw).__name__}, expected a list")
    levels = []
    for level in raw:
        lv = obj(level, f"{what} level")
        levels.append(
            BookLevel(
                price(req(lv, "price"), f"{what} price"), amount(req(lv, "size"), f"{what} size")
            )
        )
    return levels


def parse_orderbook(
    market: str, index: int, token_id: str, body: Any, observed_at: datetime
) -> OrderBook:
    """`/token/orderbook`: one outcome token's book, re-sorted best first."""
    r = obj(unwrap(body), "result")
    if "bids" not in r or "asks" not in r:
        raise ItemInvalid("orderbook lacks bids/asks", token_id)
    return OrderBook(
        venue=VENUE,
        market_native_id=market,
        outcome_index=index,
        observed_at=opt(r, "timestamp", unix_millis) or observed_at,
        bids=sorted(_levels(r["bids"], "bids"), key=lambda lv: lv.price, reverse=True),
        asks=sorted(_levels(r["asks"], "asks"), key=lambda lv: lv.price),
        token_id=opt_str(r, "tokenId") or token_id,
    )


def parse_price_history(
    market: str, index: int, token_id: str, body: Any, endpoint: str = "/token/price-history"
) -> tuple[list[PricePoint], list[DataError]]:
    """`/token/price-history`: {"history": [{"t": unix s, "p": "0.42"}]}."""
    r = obj(unwrap(body), "result")

    def one(row: Any) -> PricePoint:
        pt = obj(row, "price point")
        return PricePoint(
            VENUE,
            market,
            index,
            unix_seconds(req(pt, "t"), "t"),
            price(req(pt, "p"), "p"),
            token_id=token_id,
        )

    return parse_page(VENUE, endpoint, page_list(r, "history"), one, key_id("t"))


def mid_of(book: OrderBook) -> Decimal | None:
    bid, ask = book.best_bid, book.best_ask
    return (bid + ask) / 2 if bid is not None and ask is not None else None
