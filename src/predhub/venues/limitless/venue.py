"""The Limitless adapter: the public REST API over `VenueHttp`, parsed by `limitless.parse`.

Limitless lists only active markets (`/markets/active`, page and limit, the
list under `data`) and has no incremental filter, so `since` re-reads the
listing. Each market is addressed by its slug. AMM markets have no order
book: the venue answers 400 for them, which is not an error here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import structlog

from predhub.models import Event, Market, MarketStatus, OrderBook, PricePoint, Quote
from predhub.venues.base import Fetched, MarketRef, StreamUpdate
from predhub.venues.errors import FatalError
from predhub.venues.hosted import SingleHostVenue
from predhub.venues.limitless import parse
from predhub.venues.limitless.descriptor import DESCRIPTOR
from predhub.venues.normalize import (
    ItemInvalid,
    finest_interval,
    page_error,
    with_raw,
)

log = structlog.get_logger(__name__)

VENUE = parse.VENUE
PAGE_SIZE = 25
MAX_PAGES = 10_000
INTERVALS = ((3600, "1h"), (6 * 3600, "6h"), (86400, "1d"), (7 * 86400, "1w"))


def slug_of(ref: MarketRef) -> str:
    return ref.slug or ref.native_id


def interval_for(seconds: int) -> str:
    """The finest Limitless interval not finer than the one asked for ("1m" is a month)."""
    return finest_interval(seconds, INTERVALS, "1m")


class LimitlessVenue(SingleHostVenue):
    """Limitless Exchange (Base chain): AMM and CLOB binary markets, and groups."""

    descriptor = DESCRIPTOR

    async def ping(self) -> bool:
        return await self.http.ping("/markets/active", params={"page": 1, "limit": 1})

    def stream(self, refs: Sequence[MarketRef]) -> AsyncIterator[StreamUpdate]:
        from predhub.venues.limitless.stream import market_stream

        return market_stream(self.settings, refs)

    async def _pages(
        self,
    ) -> AsyncIterator[tuple[list[Event], Fetched[Market]]]:
        """Every `/markets/active` page: its groups as events, and its markets."""
        endpoint = "/markets/active"
        seen = 0
        for number in range(1, MAX_PAGES + 1):
            body, raw = await self.http.get_json(
                endpoint, params={"page": number, "limit": PAGE_SIZE}
            )
            page: Fetched[Market] = Fetched(raw=[raw])
            try:
                events, markets, errors, total = parse.parse_active_page(body, endpoint)
                size = len(body["data"])
            except ItemInvalid as exc:
                page.errors.append(page_error(VENUE, endpoint, exc, body, raw))
                yield [], page
                return
            page.items, page.errors = markets, errors
            with_raw([*events, *markets, *errors], raw)
            yield events, page
            seen += size
            if size == 0 or size < PAGE_SIZE or (total is not None and seen >= total):
                return

    async def list_events(self) -> AsyncIterator[Fetched[Event]]:
        """Groups (several markets under one title) as events, page by page."""
        async for events, markets in self._pages():
            yield Fetched(items=events, raw=markets.raw, errors=markets.errors)

    async def list_markets(
        self, *, since: datetime | None = None, active_only: bool = True
    ) -> AsyncIterator[Fetched[Market]]:
        """Every active market (group members carry their group as event)."""
        async for _events, markets in self._pages():
            markets.items = [m for m in markets.items if m.status is MarketStatus.OPEN]
            yield markets

    async def _market(self, slug: str) -> Fetched[Market]:
        endpoint = "/markets/{slug}"
        return await self._one_market(
            endpoint,
            f"/markets/{slug}",
            lambda body, raw: parse.parse_market_body(body, endpoint)[1:],
            slug=slug,
        )

    async def markets_by_id(self, refs: Sequence[MarketRef]) -> Fetched[Market]:
        slugs = list(dict.fromkeys(slug_of(r) for r in refs))
        out: Fetched[Market] = Fetched()
        for result in await asyncio.gather(*(self._market(s) for s in slugs)):
            out.extend(result)
        wanted = set(slugs)
        out.items = [m for m in out.items if m.native_id in wanted]  # a group lists siblings too
        group_of = {slug_of(r): r.event_native_id for r in refs if r.event_native_id}
        for market in out.items:  # a group member read on its own does not name its group
            if market.event_native_id is None and market.native_id in group_of:
                market.event_native_id = group_of[market.native_id]
        return out

    async def _book(self, slug: str, no_token: str | None) -> Fetched[OrderBook]:
        endpoint = "/markets/{slug}/orderbook"
        try:
            body, raw = await self.http.get_json(endpoint, f"/markets/{slug}/orderbook")
        except FatalError as exc:
            if exc.status in (400, 404):  # AMM market (no book) or gone
                log.debug("no_order_book", venue=VENUE, slug=slug, status=exc.status)
                return Fetched()
            raise
        out: Fetched[OrderBook] = Fetched(raw=[raw])
        try:
            out.items = parse.parse_orderbook(
                slug, body, raw.fetched_at, no_token, size_decimals=parse.DEFAULT_DECIMALS
            )
        except ItemInvalid as exc:
            out.errors.append(page_error(VENUE, endpoint, exc, body, raw))
        with_raw([*out.items, *out.errors], raw)
        return out

    async def order_books(self, refs: Sequence[MarketRef]) -> Fetched[OrderBook]:
        """Books of CLOB markets (Yes from the venue, No mirrored); AMM markets have none."""
        out: Fetched[OrderBook] = Fetched()
        results = await asyncio.gather(*(self._book(slug_of(r), _no_token(r)) for r in refs))
        for result in results:
            out.extend(result)
        return out

    async def quotes(self, refs: Sequence[MarketRef]) -> Fetched[Quote]:
        """Display prices from the market, with bid/ask from the book for CLOB markets."""
        out: Fetched[Quote] = Fetched()
        for result in await asyncio.gather(*(self._quotes(r) for r in refs)):
            out.extend(result)
        return out

    async def _quotes(self, ref: MarketRef) -> Fetched[Quote]:
        """A CLOB market's quotes come from its book (one call); an AMM market, which has
        no book (the venue answers 400), is quoted from its display prices."""
        slug = slug_of(ref)
        books = await self._book(slug, _no_token(ref))
        out: Fetched[Quote] = Fetched(raw=list(books.raw), errors=list(books.errors))
        if books.items:
            last = None
            try:
                last = parse.orderbook_last_price(books.raw[0].body)
            except ItemInvalid:
                last = None  # the book itself parsed; a bad last price only loses itself
            out.items = parse.quotes_from_books(books.items, last)
            with_raw(out.items, books.raw[0])
            return out
        markets = await self._market(slug)
        out.raw.extend(markets.raw)
        out.errors.extend(markets.errors)
        market = next((m for m in markets.items if m.native_id == slug), None)
        if market is not None and market.raw is not None:
            out.items = parse.quotes_from_market(market, market.raw.fetched_at)
            with_raw(out.items, market.raw)
        return out

    async def price_history(
        self, ref: MarketRef, *, start: datetime, end: datetime, interval_seconds: int = 3600
    ) -> Fetched[PricePoint]:
        slug = slug_of(ref)
        market = await self._market(slug)  # AMM markets chart in percent: learn the kind first
        found = next((m for m in market.items if m.native_id == slug), None)
        percent = found is not None and found.extra.get("trade_type") == "amm"
        tokens = (
            _token(ref, 0) or (found.outcomes[0].token_id if found else None),
            _token(ref, 1) or (found.outcomes[1].token_id if found else None),
        )
        endpoint = "/markets/{slug}/historical-price"
        params: dict[str, Any] = {
            "from": start.isoformat().replace("+00:00", "Z"),
            "to": end.isoformat().replace("+00:00", "Z"),
            "interval": interval_for(interval_seconds),
        }
        body, raw = await self.http.get_json(endpoint, f"/markets/{slug}/historical-price", params)
        out: Fetched[PricePoint] = Fetched(raw=[*market.raw, raw], errors=list(market.errors))
        try:
            points, errors = parse.parse_historical_prices(
                slug, body, tokens, endpoint, percent=percent
            )
        except ItemInvalid as exc:
            out.errors.append(page_error(VENUE, endpoint, exc, body, raw))
            return out
        out.items = [p for p in points if start <= p.ts <= end]
        out.errors.extend(errors)
        with_raw([*out.items, *errors], raw)
        return out


def _token(ref: MarketRef, index: int) -> str | None:
    return next((o.token_id for o in ref.outcomes if o.index == index), None)


def _no_token(ref: MarketRef) -> str | None:
    return _token(ref, 1)
