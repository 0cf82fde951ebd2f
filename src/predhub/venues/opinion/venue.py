"""The Opinion adapter: its OpenAPI over `VenueHttp`, parsed by `opinion.parse`.

Every call sends the `apikey` header (a secret: sent, never logged or kept
in bronze) and is held to the documented 15 requests/s. Responses are
`{code, msg, result}` envelopes; a non-zero code is raised as `FatalError`
carrying the venue's code and message. Prices, books and histories are per
outcome token, one request each: Opinion has no batch endpoints.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import structlog
from pydantic import SecretStr

from predhub.models import Event, Market, MarketStatus, OrderBook, PricePoint, Quote, RawResponse
from predhub.settings import Settings
from predhub.venues.base import Fetched, MarketRef, OutcomeRef, StreamUpdate
from predhub.venues.errors import FatalError
from predhub.venues.hosted import SingleHostVenue
from predhub.venues.normalize import (
    ItemInvalid,
    fetched_from,
    finest_interval,
    page_error,
    to_unix,
    with_raw,
)
from predhub.venues.opinion import parse
from predhub.venues.opinion.descriptor import DESCRIPTOR

log = structlog.get_logger(__name__)

T = TypeVar("T")

VENUE = parse.VENUE
PAGE_SIZE = 20  # the venue's maximum
MAX_PAGES = 10_000
ALL_TYPES = 2  # marketType filter: binary and categorical
INTERVALS = ((60, "1m"), (3600, "1h"), (86400, "1d"), (7 * 86400, "1w"))


def interval_for(seconds: int) -> str:
    """The finest Opinion interval not finer than the one asked for."""
    return finest_interval(seconds, INTERVALS, "max")


class OpinionVenue(SingleHostVenue):
    """Opinion (BNB chain): binary and categorical markets through its OpenAPI."""

    descriptor = DESCRIPTOR

    def secret_headers(self, settings: Settings) -> dict[str, SecretStr | None]:
        return {"apikey": settings.venue(VENUE).secret()}

    async def ping(self) -> bool:
        return await self.http.ping("/market", params={"page": 1, "limit": 1})

    def can_stream(self) -> bool:
        """The socket wants the API key even for market data: no key, no stream (polling)."""
        return self.settings.venue(VENUE).secret() is not None

    def stream(self, refs: Sequence[MarketRef]) -> AsyncIterator[StreamUpdate]:
        from predhub.venues.opinion.stream import market_stream

        return market_stream(self.settings, refs, self.order_books)

    async def _get(
        self, endpoint: str, path: str | None = None, params: dict[str, Any] | None = None
    ) -> tuple[Any, RawResponse]:
        """GET and check the envelope: a non-zero code is a refused request."""
        body, raw = await self.http.get_json(endpoint, path, params)
        if isinstance(body, dict) and body.get("code") not in (0, None):
            raise FatalError(
                f"code {body.get('code')}: {str(body.get('msg') or '')[:200]}",
                venue=VENUE,
                endpoint=endpoint,
                status=raw.status,
            )
        return body, raw

    # --- listings ---------------------------------------------------------------------

    async def _pages(
        self, active_only: bool, *, status: str | None = None, first: int = 1
    ) -> AsyncIterator[tuple[list[Event], Fetched[Market]]]:
        """Every `/market` page from page `first`; categorical entries without children expanded.

        Each page's watermark is the number of the page after it ("" after the last).
        """
        endpoint = "/market"
        seen = (first - 1) * PAGE_SIZE
        for number in range(first, MAX_PAGES + 1):
            params: dict[str, Any] = {"page": number, "limit": PAGE_SIZE, "marketType": ALL_TYPES}
            if active_only:
                params["status"] = "activated"
            elif status is not None:
                params["status"] = status
            body, raw = await self._get(endpoint, params=params)
            page: Fetched[Market] = Fetched(raw=[raw])
            try:
                events, markets, errors, total, items = parse.parse_market_list(body, endpoint)
            except ItemInvalid as exc:
                page.errors.append(page_error(VENUE, endpoint, exc, body, raw))
                yield [], page
                return
            page.items, page.errors = markets, errors
            with_raw([*events, *markets, *errors], raw)
            for item in items:
                if (
                    isinstance(item, dict)
                    and parse.is_categorical(item)
                    and not item.get("childMarkets")
                ):
                    detail = await self._categorical(str(item.get("marketId")))
                    page.extend(detail[1])
                    events = [e for e in events if e.native_id != str(item.get("marketId"))]
                    events.extend(detail[0])
            seen += len(items)
            last = not items or (total is not None and seen >= total)
            page.watermark = "" if last else str(number + 1)
            yield events, page
            if last:
                return

    async def list_events(self) -> AsyncIterator[Fetched[Event]]:
        """Categorical markets as events (their children are the markets)."""
        async for events, markets in self._pages(active_only=True):
            yield Fetched(items=events, raw=markets.raw, errors=markets.errors)

    async def list_markets(
        self, *, since: datetime | None = None, active_only: bool = True
    ) -> AsyncIterator[Fetched[Market]]:
        """Every binary market, categorical children included (no incremental filter).

        With `active_only`, children of an active categorical market that have
        themselves closed are left out, as the venue's own status filter would.
        """
        async for _events, markets in self._pages(active_only):
            if active_only:
                markets.items = [m for m in markets.items if m.status is MarketStatus.OPEN]
            yield markets

    async def closed_markets(  # type: ignore[override]
        self, *, cursor: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[Fetched[Market]]:
        """`/market?status=resolved` page by page; the resume cursor is the next page number.

        The listing takes no time filter, so markets that ended before
        `since` are dropped here.
        """
        first = int(cursor) if cursor and cursor.isdigit() else 1
        async for _events, markets in self._pages(False, status="resolved", first=first):
            markets.items = [m for m in markets.items if m.status is not MarketStatus.OPEN]
            if since is not None:
                markets.items = [m for m in markets.items if m.end_at is None or m.end_at >= since]
            yield markets

    async def _detail(self, endpoint: str, path: str) -> tuple[list[Event], Fetched[Market]]:
        try:
            body, raw = await self._get(endpoint, path)
        except FatalError as exc:
            if exc.status not in (400, 404):  # Opinion answers an unknown id with 400
                raise
            log.info("market_not_found", venue=VENUE, path=path, status=exc.status)
            return [], Fetched()
        out: Fetched[Market] = Fetched(raw=[raw])
        try:
            events, markets, errors = parse.parse_market_detail(body, endpoint)
        except ItemInvalid as exc:
            out.errors.append(page_error(VENUE, endpoint, exc, body, raw))
            return [], out
        out.items, out.errors = markets, errors
        with_raw([*events, *markets, *errors], raw)
        return events, out

    async def _categorical(self, market_id: str) -> tuple[list[Event], Fetched[Market]]:
        return await self._detail(
            "/market/categorical/{marketId}", f"/market/categorical/{market_id}"
        )

    async def markets_by_id(self, refs: Sequence[MarketRef]) -> Fetched[Market]:
        """Binary markets by id; children of a known categorical parent in one call per parent."""
        parents = list(dict.fromkeys(r.event_native_id for r in refs if r.event_native_id))
        singles = list(dict.fromkeys(r.native_id for r in refs if not r.event_native_id))
        calls = [self._categorical(p) for p in parents]
        calls += [self._detail("/market/{marketId}", f"/market/{m}") for m in singles]
        out: Fetched[Market] = Fetched()
        for _events, result in await asyncio.gather(*calls):
            out.extend(result)
        wanted = {r.native_id for r in refs}
        found = {m.native_id for m in out.items}
        missing = [r.native_id for r in refs if r.event_native_id and r.native_id not in found]
        for _events, result in await asyncio.gather(
            *(self._detail("/market/{marketId}", f"/market/{m}") for m in missing)
        ):
            out.extend(result)
        parent_of = {r.native_id: r.event_native_id for r in refs if r.event_native_id}
        for market in out.items:  # a child read on its own does not name its parent
            if market.event_native_id is None and market.native_id in parent_of:
                market.event_native_id = parent_of[market.native_id]
        out.items = [m for m in out.items if m.native_id in wanted]
        return out

    # --- per-token data -----------------------------------------------------------------

    async def _outcomes(
        self, refs: Sequence[MarketRef]
    ) -> tuple[list[tuple[str, OutcomeRef]], Fetched[Market]]:
        """(market id, outcome) pairs with token ids, looking markets up when refs lack them."""
        pairs: list[tuple[str, OutcomeRef]] = []
        lacking = [r for r in refs if not any(o.token_id for o in r.outcomes)]
        for ref in refs:
            pairs.extend((ref.native_id, o) for o in ref.outcomes if o.token_id)
        looked_up: Fetched[Market] = Fetched()
        if lacking:
            looked_up = await self.markets_by_id(lacking)
            for market in looked_up.items:
                pairs.extend(
                    (market.native_id, OutcomeRef(o.index, o.token_id))
                    for o in market.outcomes
                    if o.token_id
                )
        return pairs, looked_up

    async def quotes(self, refs: Sequence[MarketRef]) -> Fetched[Quote]:
        """Latest trade price per outcome token (one call per token)."""
        return await self._per_token(refs, "/token/latest-price", parse.parse_latest_price)

    async def order_books(self, refs: Sequence[MarketRef]) -> Fetched[OrderBook]:
        return await self._per_token(refs, "/token/orderbook", parse.parse_orderbook)

    async def _per_token(
        self,
        refs: Sequence[MarketRef],
        endpoint: str,
        parse_one: Callable[[str, int, str, Any, datetime], T],
    ) -> Fetched[T]:
        """One call per outcome token of `refs`, each answer parsed to one item.

        Opinion serves prices and books per token, not per market; the market
        lookups needed to learn the tokens are kept with the result.
        """
        pairs, looked_up = await self._outcomes(refs)
        out: Fetched[T] = Fetched(raw=list(looked_up.raw), errors=list(looked_up.errors))

        async def one(market: str, outcome: OutcomeRef) -> Fetched[T]:
            token = outcome.token_id or ""
            body, raw = await self._get(endpoint, params={"token_id": token})
            return fetched_from(
                VENUE,
                endpoint,
                body,
                raw,
                lambda: ([parse_one(market, outcome.index, token, body, raw.fetched_at)], []),
            )

        for result in await asyncio.gather(*(one(m, o) for m, o in pairs)):
            out.extend(result)
        return out

    async def price_history(
        self, ref: MarketRef, *, start: datetime, end: datetime, interval_seconds: int = 3600
    ) -> Fetched[PricePoint]:
        pairs, looked_up = await self._outcomes([ref])
        out: Fetched[PricePoint] = Fetched(raw=list(looked_up.raw), errors=list(looked_up.errors))
        endpoint = "/token/price-history"
        for market, outcome in pairs:
            token = outcome.token_id or ""
            params = {
                "token_id": token,
                "interval": interval_for(interval_seconds),
                "start_at": to_unix(start),
                "end_at": to_unix(end),
            }
            body, raw = await self._get(endpoint, params=params)
            out.raw.append(raw)
            try:
                points, errors = parse.parse_price_history(
                    market, outcome.index, token, body, endpoint
                )
            except ItemInvalid as exc:
                out.errors.append(page_error(VENUE, endpoint, exc, body, raw))
                continue
            with_raw([*points, *errors], raw)
            out.items.extend(p for p in points if start <= p.ts <= end)
            out.errors.extend(errors)
        return out
