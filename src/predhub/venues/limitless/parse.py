"""Pure parsers from Limitless Exchange JSON to the unified model.

Limitless mixes three market kinds under one shape: AMM markets quote
`prices` in percent (42.8), CLOB markets in [0, 1] (0.164), and groups
(`marketType` "group") nest their markets in `markets[]`. Money fields
(`volume`, `liquidity`, `openInterest`) are raw collateral units (USDC, 6
decimals), times are unix milliseconds (sometimes spelled as strings). A
market's slug is its native id: every per-market endpoint is addressed by it.
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
from predhub.venues.normalize import (
    ONE,
    ZERO,
    ItemInvalid,
    amount,
    complement,
    decimal,
    iso_time,
    key_id,
    media,
    obj,
    opt,
    opt_list,
    opt_str,
    page_list,
    parse_grouped_page,
    parse_page,
    percent_price,
    price,
    raw_units,
    req,
    req_str,
    unix_millis,
)

VENUE = "limitless"
DEFAULT_DECIMALS = 6

_OPEN = frozenset({"CREATED", "FUNDED", "ACTIVE"})
_CLOSED = frozenset({"LOCKED", "CLOSED", "PAUSED", "DISPUTED", "PENDING_RESOLUTION"})
_RESOLVED = frozenset({"RESOLVED", "SETTLED"})
_VOIDED = frozenset({"VOIDED", "CANCELLED", "CANCELED", "REFUNDED"})

market_id = key_id("slug", "id", "address")


def _decimals(m: Mapping[str, Any]) -> int:
    token = m.get("collateralToken")
    if not isinstance(token, Mapping) or token.get("decimals") is None:
        return DEFAULT_DECIMALS
    value = decimal(token["decimals"], "collateralToken.decimals")
    if value != value.to_integral_value() or not 0 <= value <= 36:
        raise ItemInvalid(f"collateralToken.decimals {token['decimals']!r} is not a small integer")
    return int(value)


def _prices(m: Mapping[str, Any], trade_type: str | None) -> list[Decimal] | None:
    """Yes/No display prices in [0, 1]; AMM markets publish them in percent."""
    raw = m.get("prices")
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list) or len(raw) != 2:
        raise ItemInvalid("field 'prices' is not a [yes, no] pair")
    if trade_type == "amm":
        return [percent_price(p, "prices") for p in raw]
    return [price(p, "prices") for p in raw]


def _status(m: Mapping[str, Any]) -> tuple[MarketStatus, Resolution | None]:
    status = req_str(m, "status").upper()
    winner = m.get("winningOutcomeIndex")
    if status in _RESOLVED or (winner is not None and status not in _VOIDED):
        if winner is None:  # settled with no winning outcome: stakes are returned
            return MarketStatus.VOIDED, Resolution(is_void=True, source=_SOURCE)
        index = decimal(winner, "winningOutcomeIndex")
        if index not in (ZERO, ONE):
            raise ItemInvalid(f"winningOutcomeIndex {winner!r} is not 0 or 1")
        payouts = [ONE, ZERO] if index == ZERO else [ZERO, ONE]
        return MarketStatus.RESOLVED, Resolution(
            winning_outcome=int(index), payouts=payouts, source=_SOURCE
        )
    if status in _VOIDED:
        return MarketStatus.VOIDED, Resolution(is_void=True, source=_SOURCE)
    if status in _CLOSED:
        return MarketStatus.CLOSED, None
    if status in _OPEN:
        expired = m.get("expired")
        return (MarketStatus.CLOSED if expired is True else MarketStatus.OPEN), None
    raise ItemInvalid(f"unknown status {status!r}")


_SOURCE = "winning_outcome_index"  # how a Limitless resolution is read


def parse_market(item: Any, group: Mapping[str, Any] | None = None) -> Market:
    """One single (AMM or CLOB) market; `group` is its parent group, if any."""
    m = obj(item, "market")
    slug = req_str(m, "slug")
    title = req_str(m, "title")
    trade_type = opt_str(m, "tradeType") or (opt_str(group, "tradeType") if group else None)
    if trade_type is not None and trade_type not in ("amm", "clob", "group"):
        raise ItemInvalid(f"unknown tradeType {trade_type!r}")
    decimals = _decimals(m) if m.get("collateralToken") or group is None else _decimals(group)
    tokens = m.get("tokens")
    if tokens is not None and not isinstance(tokens, Mapping):
        raise ItemInvalid("field 'tokens' is not an object")
    yes_token = opt_str(tokens, "yes") if tokens else None
    no_token = opt_str(tokens, "no") if tokens else None
    prices = _prices(m, trade_type)
    status, resolution = _status(m)
    categories = [str(c) for c in opt_list(m, "categories")]
    tags = [str(t) for t in opt_list(m, "tags")]
    extra: dict[str, Any] = {"id": m.get("id"), "trade_type": trade_type}
    for key in ("address", "expirationDate", "marketType", "negRiskRequestId", "automationType"):
        if m.get(key) not in (None, ""):
            extra[key] = m[key]
    if tags:
        extra["tags"] = tags
    metadata = m.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("fee"), bool):
        extra["fee"] = metadata["fee"]  # whether takers pay the CLOB fee
    if categories or tags:
        extra["venue_tags"] = list(dict.fromkeys([*categories, *tags]))
    extra.update(media(m, image="imageUrl", icon="logo"))
    settings = m.get("settings")
    if isinstance(settings, Mapping) and settings.get("minSize") is not None:
        extra["min_size"] = str(raw_units(settings["minSize"], decimals, "settings.minSize"))
    event_id = event_title = None
    if group is not None:
        event_id = opt_str(group, "slug")
        event_title = opt_str(group, "title")
    return Market(
        venue=VENUE,
        native_id=slug,
        slug=slug,
        question=title,
        outcomes=[
            Outcome(0, "Yes", token_id=yes_token, price=prices[0] if prices else None),
            Outcome(1, "No", token_id=no_token, price=prices[1] if prices else None),
        ],
        status=status,
        event_native_id=event_id,
        event_title=event_title,
        condition_id=opt_str(m, "conditionId"),
        description=opt_str(m, "description"),
        category=categories[0] if categories else None,
        end_at=opt(m, "expirationTimestamp", unix_millis),
        updated_at=opt(m, "updatedAt", iso_time),
        volume_total=_money(m, "volume", decimals),
        liquidity=_money(m, "liquidity", decimals),
        open_interest=_money(m, "openInterest", decimals),
        resolution=resolution,
        extra=extra,
    )


def _money(m: Mapping[str, Any], key: str, decimals: int) -> Decimal | None:
    value = m.get(key)
    if value is None or value == "":
        return None
    return raw_units(value, decimals, key)


def parse_group(item: Any) -> tuple[Event, list[Market], list[DataError]]:
    """A group: one event plus its markets; a bad child market costs only itself."""
    g = obj(item, "group")
    slug = req_str(g, "slug")
    title = req_str(g, "title")
    children, errors = parse_page(
        VENUE,
        "/markets/{slug}",
        opt_list(g, "markets"),
        lambda child: parse_market(child, g),
        market_id,
    )
    categories = [str(c) for c in opt_list(g, "categories")]
    statuses = {m.status for m in children}
    if not children or MarketStatus.OPEN in statuses:
        status = MarketStatus.OPEN
    elif MarketStatus.CLOSED in statuses:
        status = MarketStatus.CLOSED
    else:
        status = MarketStatus.RESOLVED
    volume = _money(g, "volume", _decimals(g))
    event = Event(
        venue=VENUE,
        native_id=slug,
        slug=slug,
        title=title,
        description=opt_str(g, "description"),
        category=categories[0] if categories else None,
        tags=[str(t) for t in opt_list(g, "tags")],
        end_at=opt(g, "expirationTimestamp", unix_millis),
        neg_risk=True,
        mutually_exclusive=True,
        status=status,
        volume_total=volume,
        extra={"id": g.get("id")},
    )
    return event, children, errors


def parse_item(item: Any) -> tuple[Event | None, list[Market], list[DataError]]:
    """Any entry of a market list: a single market, or a group and its markets."""
    m = obj(item, "market")
    if m.get("marketType") == "group" or isinstance(m.get("markets"), list):
        return parse_group(m)
    return None, [parse_market(m)], []


def parse_items(
    items: list[Any], endpoint: str
) -> tuple[list[Event], list[Market], list[DataError]]:
    return parse_grouped_page(VENUE, endpoint, items, parse_item, market_id)


def parse_active_page(
    body: Any, endpoint: str = "/markets/active"
) -> tuple[list[Event], list[Market], list[DataError], int | None]:
    """A `/markets/active` page: groups as events, every market, errors, and the total."""
    items = page_list(body, "data")
    total = obj(body, "response body").get("totalMarketsCount")
    events, markets, errors = parse_items(items, endpoint)
    count = int(decimal(total, "totalMarketsCount")) if total is not None else None
    return events, markets, errors, count


def parse_market_body(
    body: Any, endpoint: str = "/markets/{slug}"
) -> tuple[list[Event], list[Market], list[DataError]]:
    """A `/markets/{slug}` body: one market, or a group with its markets."""
    return parse_items([body], endpoint)


def _book_levels(raw: Any, what: str, decimals: int | None) -> list[BookLevel]:
    levels = []
    for level in raw if raw is not None else []:
        lv = obj(level, f"{what} level")
        size = req(lv, "size")
        levels.append(
            BookLevel(
                price(req(lv, "price"), f"{what} price"),
                raw_units(size, decimals, f"{what} size")
                if decimals is not None
                else amount(size, f"{what} size"),
            )
        )
    return levels


def parse_orderbook(
    slug: str,
    body: Any,
    observed_at: datetime,
    no_token: str | None = None,
    size_decimals: int | None = None,
) -> list[OrderBook]:
    """A CLOB order book (for the Yes token) as books for Yes (0) and No (1).

    Limitless books are those of the Yes token; the No side mirrors them: a
    Yes bid at x is a No ask at 1 - x. `size_decimals` scales raw sizes when
    the venue reports them in collateral units.
    """
    b = obj(body, "orderbook")
    if "bids" not in b or "asks" not in b:
        raise ItemInvalid("orderbook lacks bids/asks", slug)
    if not isinstance(b["bids"], list | None) or not isinstance(b["asks"], list | None):
        raise ItemInvalid("orderbook bids/asks are not lists", slug)
    bids = sorted(
        _book_levels(b["bids"], "bids", size_decimals), key=lambda lv: lv.price, reverse=True
    )
    asks = sorted(_book_levels(b["asks"], "asks", size_decimals), key=lambda lv: lv.price)
    yes_token = opt_str(b, "tokenId")
    return [
        OrderBook(VENUE, slug, 0, observed_at, bids, asks, token_id=yes_token),
        OrderBook(
            VENUE,
            slug,
            1,
            observed_at,
            bids=[BookLevel(complement(lv.price), lv.size) for lv in asks],
            asks=[BookLevel(complement(lv.price), lv.size) for lv in bids],
            token_id=no_token,
        ),
    ]


def orderbook_last_price(body: Any) -> Decimal | None:
    b = obj(body, "orderbook")
    return opt(b, "lastTradePrice", price)


def parse_historical_prices(
    slug: str,
    body: Any,
    token_ids: tuple[str | None, str | None] = (None, None),
    endpoint: str = "/markets/{slug}/historical-price",
    *,
    percent: bool = False,
) -> tuple[list[PricePoint], list[DataError]]:
    """`/markets/{slug}/historical-price`: a list of series, one per outcome token.

    A series is matched to its outcome by its title ("YES Token"/"NO Token");
    a lone series is its outcome's price and the other is its complement.
    AMM markets chart in percent, like their listing (`percent=True`).
    """
    to_price = percent_price if percent else price
    series = page_list(body, None)
    points: list[PricePoint] = []
    errors: list[DataError] = []
    for position, entry in enumerate(series):
        try:
            s = obj(entry, "price series")
            index = _series_index(opt_str(s, "title"), position)
            rows = opt_list(s, "prices")
        except ItemInvalid as exc:
            errors.append(DataError(VENUE, endpoint, slug, exc.reason, entry))
            continue

        def one(row: Any, index: int = index) -> list[PricePoint]:
            r = obj(row, "price point")
            ts = _time(req(r, "timestamp"))
            p = to_price(req(r, "price"), "price")
            out = [PricePoint(VENUE, slug, index, ts, p, token_id=token_ids[index])]
            if len(series) == 1:
                out.append(
                    PricePoint(
                        VENUE, slug, 1 - index, ts, complement(p), token_id=token_ids[1 - index]
                    )
                )
            return out

        parsed, bad = parse_page(VENUE, endpoint, rows, one, key_id("timestamp"))
        points.extend(p for group in parsed for p in group)
        errors.extend(bad)
    return points, errors


def _series_index(title: str | None, position: int) -> int:
    if title:
        lowered = title.lower()
        if lowered.startswith("no") or " no " in f" {lowered} ":
            return 1
        if lowered.startswith("yes") or " yes " in f" {lowered} ":
            return 0
    if position > 1:
        raise ItemInvalid(f"price series {position} has no outcome")
    return position


def _time(value: Any) -> datetime:
    """Limitless spells times as ISO text, "YYYY-MM-DD HH:MM:SS+00:00", or unix ms."""
    if isinstance(value, str) and not value.strip().isdigit():
        return iso_time(value, "timestamp")
    return unix_millis(value, "timestamp")


def quotes_from_market(market: Market, observed_at: datetime) -> list[Quote]:
    """Quotes from a market's display prices (no bid/ask in the listing)."""
    return [
        Quote(
            venue=VENUE,
            market_native_id=market.native_id,
            outcome_index=o.index,
            observed_at=observed_at,
            token_id=o.token_id,
            price=o.price,
        )
        for o in market.outcomes
    ]


def quotes_from_books(books: list[OrderBook], last_yes: Decimal | None) -> list[Quote]:
    """Quotes with best bid/ask from a CLOB market's books; the last trade when a side is empty."""
    quotes = []
    for book in books:
        bid, ask = book.best_bid, book.best_ask
        mid = (bid + ask) / 2 if bid is not None and ask is not None else None
        last = None
        if last_yes is not None:
            last = last_yes if book.outcome_index == 0 else complement(last_yes)
        quote = book.quote(last=last)
        quote.mid = mid
        quote.price = mid if mid is not None else last
        quotes.append(quote)
    return quotes
