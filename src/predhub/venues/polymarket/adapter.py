"""Polymarket over HTTP: Gamma (catalog), CLOB (prices, books, history), Data API (trades).

All I/O of the adapter lives here and in `stream.py`; turning JSON into
unified objects is `parse.py`'s job. Markets are identified by their Gamma
`id` (`MarketRef.native_id`); CLOB and Data API calls address outcomes by
token id and markets by `condition_id`, both carried in the `MarketRef`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar

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
from predhub.settings import Settings
from predhub.venues.base import (
    Capability,
    Fetched,
    MarketRef,
    MarketsTrades,
    StreamUpdate,
    Venue,
)
from predhub.venues.errors import VenueNotFound
from predhub.venues.http import VenueHttp
from predhub.venues.normalize import ItemInvalid, key_id, obj, page_list, parse_page, price, to_unix
from predhub.venues.pagination import CursorGuard, OffsetGuard
from predhub.venues.polymarket import parse
from predhub.venues.polymarket.descriptor import CONDITION_ID, DESCRIPTOR, TOKEN_ID
from predhub.venues.polymarket.parse import VENUE

T = TypeVar("T")

# Documented limits, requests per 10 s (docs.polymarket.com, rate limits).
GAMMA_LIMITS = DESCRIPTOR.limits["gamma_url"]
CLOB_LIMITS = DESCRIPTOR.limits["clob_url"]
DATA_LIMITS = DESCRIPTOR.limits["data_url"]

MARKETS_PAGE = 500
EVENTS_PAGE = 200
BY_ID_CHUNK = 50
TOKENS_PER_REQUEST = 200  # the CLOB accepts up to 500 items per batch request
TRADES_PAGE = 500
TRADES_OFFSET_CAP = 10_000
# /trades with a list of condition ids: its largest page, and ids per request (about 7 KB
# of query string, under the 8 KB request line common servers and proxies accept).
BULK_TRADES_PAGE = 10_000
BULK_TRADES_MARKETS = 100


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _watermark(trade: Trade) -> str:
    return f"{to_unix(trade.executed_at)}|{trade.trade_key}"


def _parse_watermark(watermark: str | None) -> tuple[int, str] | None:
    if not watermark:
        return None
    ts, _, key = watermark.partition("|")
    return int(ts), key


class PolymarketVenue(Venue):
    """Polymarket: Gamma catalog, CLOB quotes and books, Data API trades, WS market channel."""

    name: ClassVar[str] = VENUE
    has: ClassVar[frozenset[Capability]] = DESCRIPTOR.has
    markets_page_size = MARKETS_PAGE  # per instance, so tests can force many pages

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        config = settings.venue(VENUE)
        self.gamma = VenueHttp.for_venue(
            VENUE, config.url("gamma_url"), settings, limits=GAMMA_LIMITS
        )
        self.clob = self.gamma.sibling(config.url("clob_url"), limits=CLOB_LIMITS)
        self.data = self.gamma.sibling(config.url("data_url"), limits=DATA_LIMITS)

    @property
    def http(self) -> VenueHttp:
        """The Gamma client; the CLOB and Data clients share its breaker and sleep."""
        return self.gamma

    async def close(self) -> None:
        await self.gamma.close()

    async def ping(self) -> bool:
        return await self.gamma.ping("/markets/keyset", params={"limit": 1})

    # --- catalog ---------------------------------------------------------------------
    def _page(
        self,
        endpoint: str,
        raw: RawResponse,
        items: list[Any],
        parser: Callable[[Any], T],
        ids: Callable[[Any], str | None],
    ) -> Fetched[T]:
        parsed, errors = parse_page(VENUE, endpoint, items, parser, ids, raw)
        return Fetched(items=parsed, raw=[raw], errors=errors)

    def _body_error(self, endpoint: str, raw: RawResponse, exc: ItemInvalid) -> Fetched[Any]:
        error = DataError(VENUE, endpoint, None, exc.reason, item=None, raw=raw)
        return Fetched(raw=[raw], errors=[error])

    async def _keyset(
        self, endpoint: str, key: str, params: dict[str, Any]
    ) -> AsyncIterator[tuple[RawResponse, list[Any]]]:
        """Pages of `endpoint` ("/markets/keyset"), falling back to the legacy offset list."""
        guard = CursorGuard(VENUE, endpoint)
        cursor: str | None = None
        while True:
            try:
                body, raw = await self.gamma.get_json(
                    endpoint, params={**params, "after_cursor": cursor}
                )
            except VenueNotFound:
                if cursor is not None:
                    raise
                async for page in self._legacy(endpoint.removesuffix("/keyset"), params):
                    yield page
                return
            try:
                items = page_list(body, key)
            except ItemInvalid:
                items = []  # the caller reports the malformed body; the cursor may still lead on
            yield raw, items
            cursor = guard.advance(body.get("next_cursor") if isinstance(body, dict) else None)
            if cursor is None:
                return

    async def _legacy(
        self, endpoint: str, params: dict[str, Any]
    ) -> AsyncIterator[tuple[RawResponse, list[Any]]]:
        limit = int(params.get("limit") or 100)
        guard = OffsetGuard(limit, short_page_ends=False)
        offset: int | None = 0
        while offset is not None:
            body, raw = await self.gamma.get_json(endpoint, params={**params, "offset": offset})
            items = body if isinstance(body, list) else []
            yield raw, items
            offset = guard.advance(len(items))

    async def list_events(self) -> AsyncIterator[Fetched[Event]]:  # type: ignore[override]
        params = {"limit": EVENTS_PAGE, "closed": "false"}
        async for raw, items in self._keyset("/events/keyset", "events", params):
            page = self._page(raw.endpoint, raw, items, parse.parse_gamma_event, key_id("id"))
            if not items and not isinstance(raw.body, list) and not _has_list(raw.body, "events"):
                page.errors.append(
                    DataError(VENUE, raw.endpoint, None, "response has no 'events' list", raw=raw)
                )
            yield page

    async def list_markets(  # type: ignore[override]
        self, *, since: datetime | None = None, active_only: bool = True
    ) -> AsyncIterator[Fetched[Market]]:
        params: dict[str, Any] = {"limit": self.markets_page_size}
        if active_only:
            params["closed"] = "false"
        if since is not None:  # newest changes first, stop at the watermark
            params.update(order="updatedAt", ascending="false")
        newest: datetime | None = None
        async for raw, items in self._keyset("/markets/keyset", "markets", params):
            page = self._page(raw.endpoint, raw, items, parse.parse_gamma_market, key_id("id"))
            if not items and not isinstance(raw.body, list) and not _has_list(raw.body, "markets"):
                page.errors.append(
                    DataError(VENUE, raw.endpoint, None, "response has no 'markets' list", raw=raw)
                )
            if since is None:
                yield page
                continue
            fresh = [m for m in page.items if m.updated_at is None or m.updated_at >= since]
            reached = len(fresh) < len(page.items)
            page.items = fresh
            if newest is None:  # the first page holds the newest change of the run
                newest = max((m.updated_at for m in fresh if m.updated_at), default=None)
            page.watermark = newest.isoformat() if newest else None
            yield page
            if reached:
                return

    async def closed_markets(  # type: ignore[override]
        self, *, cursor: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[Fetched[Market]]:
        """Gamma's keyset with `closed=true` (closed markets appear only with it), id order.

        `since` becomes `end_date_min`. Each page's watermark is the
        `next_cursor` to resume after it ("" on the last page).
        """
        endpoint = "/markets/keyset"
        params: dict[str, Any] = {"limit": self.markets_page_size, "closed": "true"}
        if since is not None:
            params["end_date_min"] = since.isoformat().replace("+00:00", "Z")
        guard = CursorGuard(VENUE, endpoint)
        while True:
            body, raw = await self.gamma.get_json(
                endpoint, params={**params, "after_cursor": cursor}
            )
            try:
                items = page_list(body, "markets")
            except ItemInvalid as exc:
                page: Fetched[Market] = self._body_error(endpoint, raw, exc)
                page.watermark = cursor or ""  # the same page again next time
                yield page
                return
            page = self._page(endpoint, raw, items, parse.parse_gamma_market, key_id("id"))
            cursor = guard.advance(body.get("next_cursor") if isinstance(body, dict) else None)
            page.watermark = cursor or ""
            yield page
            if cursor is None:
                return

    async def markets_by_id(self, refs: Sequence[MarketRef]) -> Fetched[Market]:
        out: Fetched[Market] = Fetched()
        for chunk in _chunks(list(refs), BY_ID_CHUNK):
            ids = [r.native_id for r in chunk]
            params = {"id": ids, "limit": len(ids)}
            async for raw, items in self._keyset("/markets/keyset", "markets", params):
                out.extend(
                    self._page(raw.endpoint, raw, items, parse.parse_gamma_market, key_id("id"))
                )
        return out

    async def find_markets(self, key: str) -> Fetched[Market]:
        """A market by any public id: condition id, CLOB token id, Gamma id or slug."""
        if CONDITION_ID.match(key):
            params: dict[str, Any] = {"condition_ids": [key.lower()]}
        elif TOKEN_ID.match(key):
            params = {"clob_token_ids": [key]}
        elif key.isdigit():
            params = {"id": [key]}
        else:
            return await self.market_by_slug(key)
        out: Fetched[Market] = Fetched()
        async for raw, items in self._keyset("/markets/keyset", "markets", {**params, "limit": 10}):
            out.extend(self._page(raw.endpoint, raw, items, parse.parse_gamma_market, key_id("id")))
        return out

    async def market_by_slug(self, slug: str) -> Fetched[Market]:
        """One market by its slug (Gamma `/markets/slug/{slug}`); unknown slugs give no items."""
        try:
            body, raw = await self.gamma.get_json("/markets/slug/{slug}", f"/markets/slug/{slug}")
        except VenueNotFound:
            return Fetched()
        return self._page(raw.endpoint, raw, [body], parse.parse_gamma_market, key_id("id"))

    async def search(self, query: str, *, limit: int = 20) -> Fetched[Event]:
        """Gamma public search: events (with their markets) matching `query`."""
        body, raw = await self.gamma.get_json(
            "/public-search", params={"q": query, "limit_per_type": limit}
        )
        try:
            items = page_list(body, "events")
        except ItemInvalid as exc:
            return self._body_error("/public-search", raw, exc)
        return self._page("/public-search", raw, items, parse.parse_gamma_event, key_id("id"))

    async def clob_market(self, ref: MarketRef) -> Fetched[Market]:
        """The CLOB's view of one market (tokens with winner flags)."""
        if not ref.condition_id:
            return Fetched(errors=[_no_ids(ref, "/markets/{condition_id}", "no condition id")])
        body, raw = await self.clob.get_json(
            "/markets/{condition_id}", f"/markets/{ref.condition_id}"
        )
        return self._page(
            raw.endpoint,
            raw,
            [body],
            lambda b: parse.parse_clob_market(b, ref.native_id),
            key_id("condition_id"),
        )

    # --- prices ------------------------------------------------------------------------
    def _tokens(
        self, refs: Sequence[MarketRef], endpoint: str, out: Fetched[Any]
    ) -> dict[str, tuple[str, int]]:
        """{token_id: (market native id, outcome index)}; refs without tokens become errors."""
        tokens: dict[str, tuple[str, int]] = {}
        for ref in refs:
            found = [o for o in ref.outcomes if o.token_id]
            if not found:
                out.errors.append(_no_ids(ref, endpoint, "no CLOB token ids"))
            for o in found:
                tokens[str(o.token_id)] = (ref.native_id, o.index)
        return tokens

    async def quotes(self, refs: Sequence[MarketRef]) -> Fetched[Quote]:
        out: Fetched[Quote] = Fetched()
        tokens = self._tokens(refs, "/prices", out)
        for chunk in _chunks(list(tokens), TOKENS_PER_REQUEST):
            body_prices = [{"token_id": t, "side": s} for t in chunk for s in ("BUY", "SELL")]
            prices, raw_p = await self.clob.post_json("/prices", json_body=body_prices)
            mids, raw_m = await self.clob.post_json(
                "/midpoints", json_body=[{"token_id": t} for t in chunk]
            )
            out.raw += [raw_p, raw_m]
            for token in chunk:
                market_id, index = tokens[token]
                try:
                    quote = parse.parse_side_prices(
                        prices, token, market_id, index, raw_p.fetched_at
                    )
                    mid_raw = mids.get(token) if isinstance(mids, dict) else None
                    mid = price(mid_raw, "mid") if mid_raw is not None else None
                except ItemInvalid as exc:
                    out.errors.append(DataError(VENUE, "/prices", token, exc.reason, raw=raw_p))
                    continue
                if quote is None and mid is None:
                    out.errors.append(
                        DataError(VENUE, "/prices", token, "no price for token", raw=raw_p)
                    )
                    continue
                if quote is None:
                    quote = Quote(VENUE, market_id, index, raw_m.fetched_at, token_id=token)
                quote.mid = mid
                quote.price = mid
                quote.raw = raw_p
                out.items.append(quote)
        return out

    async def order_books(self, refs: Sequence[MarketRef]) -> Fetched[OrderBook]:
        out: Fetched[OrderBook] = Fetched()
        tokens = self._tokens(refs, "/books", out)
        for chunk in _chunks(list(tokens), TOKENS_PER_REQUEST):
            body, raw = await self.clob.post_json(
                "/books", json_body=[{"token_id": t} for t in chunk]
            )
            try:
                items = page_list(body, None)
            except ItemInvalid as exc:
                out.extend(self._body_error("/books", raw, exc))
                continue

            def one(item: Any) -> OrderBook:
                token = str(obj(item, "book").get("asset_id"))
                if token not in tokens:
                    raise ItemInvalid("book for a token that was not asked for", token)
                return parse.parse_book(item, *tokens[token])

            page = self._page("/books", raw, items, one, key_id("asset_id"))
            for book in page.items:
                book.raw = raw
            out.extend(page)
        return out

    async def price_history(
        self, ref: MarketRef, *, start: datetime, end: datetime, interval_seconds: int = 3600
    ) -> Fetched[PricePoint]:
        out: Fetched[PricePoint] = Fetched()
        fidelity = max(1, interval_seconds // 60)
        for o in ref.outcomes:
            if not o.token_id:
                out.errors.append(_no_ids(ref, "/prices-history", "no CLOB token id"))
                continue
            params = {
                "market": o.token_id,
                "startTs": to_unix(start),
                "endTs": to_unix(end),
                "fidelity": fidelity,
            }
            body, raw = await self.clob.get_json("/prices-history", params=params)
            out.raw.append(raw)
            try:
                points = parse.parse_price_history(body, ref.native_id, o.index, o.token_id)
            except ItemInvalid as exc:
                out.errors.append(
                    DataError(VENUE, "/prices-history", o.token_id, exc.reason, raw=raw)
                )
                continue
            out.items.extend(points)
        return out

    async def last_trade_price(self, token_id: str) -> tuple[Any, RawResponse]:
        """CLOB `/last-trade-price` ({"price", "side"}) for one token."""
        return await self.clob.get_json("/last-trade-price", params={"token_id": token_id})

    # --- trades ------------------------------------------------------------------------
    async def trades_since(  # type: ignore[override]
        self, ref: MarketRef, watermark: str | None
    ) -> AsyncIterator[Fetched[Trade]]:
        """Data API trades newer than `watermark` ("unix_seconds|trade_key"), oldest first.

        The Data API pages newest first by offset, so the new trades are read
        down to the watermark, then handed out oldest first in pages, each
        with the watermark of its newest trade: a sync interrupted after any
        page resumes without a gap. Trades in the watermark's own second are
        read again (the key deduplicates them downstream) because the venue
        orders same-second trades arbitrarily.
        """
        if not ref.condition_id:
            yield Fetched(errors=[_no_ids(ref, "/trades", "no condition id")])
            return
        mark = _parse_watermark(watermark)
        collected: Fetched[Trade] = Fetched()
        guard = OffsetGuard(TRADES_PAGE, max_offset=TRADES_OFFSET_CAP)
        offset: int | None = 0
        reached = False
        while offset is not None and not reached:
            params = {"market": ref.condition_id, "limit": TRADES_PAGE, "offset": offset}
            body, raw = await self.data.get_json("/trades", params=params)
            try:
                rows = page_list(body, None)
            except ItemInvalid as exc:
                collected.extend(self._body_error("/trades", raw, exc))
                break
            page = self._page(
                "/trades",
                raw,
                rows,
                lambda r: parse.parse_trade(r, ref.native_id),
                key_id("transactionHash"),
            )
            for trade in page.items:
                ts = to_unix(trade.executed_at)
                if mark is not None and (ts < mark[0] or trade.trade_key == mark[1]):
                    reached = True
                    continue
                trade.raw = raw
                collected.items.append(trade)
            collected.raw += page.raw
            collected.errors += page.errors
            offset = guard.advance(len(rows))
        if mark is not None and not reached and offset is None and guard.capped:
            collected.errors.append(
                DataError(
                    VENUE,
                    "/trades",
                    ref.condition_id,
                    f"more than {TRADES_OFFSET_CAP} trades since the watermark: older ones unreachable",
                )
            )
        trades = collected.items
        trades.reverse()  # oldest first
        if not trades:
            yield Fetched(raw=collected.raw, errors=collected.errors, watermark=watermark)
            return
        for i, chunk in enumerate(_chunks(trades, TRADES_PAGE)):
            page_out: Fetched[Trade] = Fetched(items=list(chunk), watermark=_watermark(chunk[-1]))
            if i == 0:
                page_out.raw, page_out.errors = collected.raw, collected.errors
            yield page_out

    bulk_trades_markets: ClassVar[int] = BULK_TRADES_MARKETS

    async def trades_of_markets(self, refs: Sequence[MarketRef]) -> MarketsTrades:
        """Every trade of these markets from the Data API, `BULK_TRADES_MARKETS` to a request.

        `/trades` takes a comma-separated list of condition ids and pages of
        up to 10,000 rows, reachable to offset 10,000: a set of markets with
        more trades than that is halved and read again (a single such market
        keeps its newest trades and says the older ones are unreachable, as
        `trades_since` does).
        """
        out = MarketsTrades()
        names: dict[str, str] = {}
        for ref in refs:
            if ref.condition_id:
                names[ref.condition_id] = ref.native_id
            else:
                out.fetched.errors.append(_no_ids(ref, "/trades", "no condition id"))
        for chunk in _chunks(list(names), BULK_TRADES_MARKETS):
            await self._trades_of(chunk, names, out.fetched)
        newest: dict[str, Trade] = {}
        for trade in out.fetched.items:
            held = newest.get(trade.market_native_id)
            if held is None or trade.executed_at >= held.executed_at:
                newest[trade.market_native_id] = trade
        out.watermarks = {native: _watermark(t) for native, t in newest.items()}
        return out

    async def _trades_of(
        self, conditions: Sequence[str], names: dict[str, str], out: Fetched[Trade]
    ) -> None:
        def one(row: Any) -> Trade:
            condition = obj(row, "trade").get("conditionId")
            if condition not in names:
                raise ItemInvalid(f"trade of a market not asked for: {str(condition)[:70]!r}")
            return parse.parse_trade(row, names[condition])

        got: Fetched[Trade] = Fetched()
        offset = 0
        while True:
            params = {"market": ",".join(conditions), "limit": BULK_TRADES_PAGE, "offset": offset}
            body, raw = await self.data.get_json("/trades", params=params)
            try:
                rows = page_list(body, None)
            except ItemInvalid as exc:
                got.extend(self._body_error("/trades", raw, exc))
                break
            page = self._page("/trades", raw, rows, one, key_id("transactionHash"))
            for trade in page.items:
                trade.raw = raw
            got.extend(page)
            if len(rows) < BULK_TRADES_PAGE:
                break
            if offset + BULK_TRADES_PAGE <= TRADES_OFFSET_CAP:
                offset += BULK_TRADES_PAGE
                continue
            if len(conditions) > 1:  # past the reachable offsets: read each half alone
                half = len(conditions) // 2
                await self._trades_of(conditions[:half], names, out)
                await self._trades_of(conditions[half:], names, out)
                return
            got.errors.append(
                DataError(
                    VENUE,
                    "/trades",
                    conditions[0],
                    f"more than {TRADES_OFFSET_CAP + BULK_TRADES_PAGE} trades: "
                    "older ones unreachable",
                )
            )
            break
        out.extend(got)

    # --- live --------------------------------------------------------------------------
    def stream(self, refs: Sequence[MarketRef]) -> AsyncIterator[StreamUpdate]:
        from predhub.venues.polymarket.stream import market_stream

        return market_stream(self.settings, refs)


def _has_list(body: Any, key: str) -> bool:
    return isinstance(body, dict) and isinstance(body.get(key), list)


def _no_ids(ref: MarketRef, endpoint: str, reason: str) -> DataError:
    return DataError(VENUE, endpoint, ref.native_id, reason)
