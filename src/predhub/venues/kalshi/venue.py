"""The Kalshi adapter: trade API v2 over `VenueHttp`, parsed by `kalshi.parse`.

Market data is public: without credentials every read goes unsigned and the
markets are polled. With an API key id and its private key (settings
`KALSHI_API_KEY`, `KALSHI_PRIVATE_KEY_FILE`) the adapter streams over the
WebSocket (its handshake must be signed) and signs the REST endpoints that
need it, or all of them with `KALSHI_SIGN_ALL_REQUESTS`.

Kalshi's public reads are cursor-paginated (`cursor` in the body, "" on the
last page) and rate limited by token buckets (Basic tier: 200 tokens/s, 10
per read, so 20 reads/s). Markets settled before the venue's historical
cutoff move to `/historical/*`; lookups that miss the live set retry there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import structlog

from predhub.models import (
    Event,
    Market,
    MarketStatus,
    OrderBook,
    PricePoint,
    Quote,
    RawResponse,
    Trade,
)
from predhub.settings import Settings
from predhub.venues.base import (
    Fetched,
    HistoryWindow,
    MarketRef,
    MarketsHistory,
    StreamUpdate,
)
from predhub.venues.errors import FatalError, NotSupported, VenueNotFound
from predhub.venues.hosted import SingleHostVenue
from predhub.venues.http import RequestSigner, VenueHttp, utc_now
from predhub.venues.kalshi import parse
from predhub.venues.kalshi.descriptor import DESCRIPTOR
from predhub.venues.kalshi.signing import Signer
from predhub.venues.normalize import (
    ItemInvalid,
    iso_time,
    obj,
    page_error,
    req,
    to_unix,
    with_raw,
)
from predhub.venues.pagination import CursorGuard

log = structlog.get_logger(__name__)

VENUE = parse.VENUE
MARKETS_PAGE = 200  # the venue allows 1000, but big pages are slow and costly to retry
EVENTS_PAGE = 200
CLOSED_PAGE = 1000  # the documented maximum: a history walk is long, few big pages are cheaper
CLOSED_PHASES = ("closed", "settled", "historical")  # the order a history walk reads them in
TRADES_PAGE = 1000
TICKERS_PER_CALL = 100  # /markets?tickers= and /markets/orderbooks accept up to 100
CANDLES_PER_CALL = 5000
BATCH_TICKERS = 100  # /markets/candlesticks: market tickers a request
BATCH_CANDLES = 10_000  # /markets/candlesticks: candlesticks an answer holds at most, in all
CUTOFF_TTL = timedelta(hours=1)  # how long the historical cutoff read is trusted
PERIODS = (1, 60, 1440)  # candlestick periods Kalshi offers, in minutes
# endpoints Kalshi answers only when signed (the account's own data); the
# public market data predhub reads is signed only with KALSHI_SIGN_ALL_REQUESTS
PRIVATE_PREFIXES = ("/portfolio", "/api_keys", "/communications", "/fcm")


def ticker_of(ref: MarketRef) -> str:
    return ref.ticker or ref.native_id


def series_of(ref: MarketRef) -> str:
    """The series ticker: the event ticker's first segment (KXBTCD-26SEP2620 -> KXBTCD)."""
    return (ref.event_native_id or ticker_of(ref)).split("-", 1)[0]


def period_for(interval_seconds: int) -> int:
    """The longest Kalshi candle period (minutes) not longer than the interval asked for."""
    minutes = max(1, interval_seconds // 60)
    return max((p for p in PERIODS if p <= minutes), default=PERIODS[0])


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class KalshiVenue(SingleHostVenue):
    """Kalshi (CFTC-regulated exchange), public market data."""

    descriptor = DESCRIPTOR

    def __init__(self, settings: Settings, http: VenueHttp | None = None) -> None:
        config = settings.venue(VENUE)
        key_id, key_file = config.secret("api_key"), config.file("private_key_file")
        self.signer: Signer | None = None
        if key_id is not None and key_id.get_secret_value() and key_file is not None:
            self.signer = Signer.from_file(key_id.get_secret_value(), key_file)
        self.sign_all = config.flag("sign_all_requests")
        super().__init__(settings, http)
        self._events: dict[str, Event] = {}  # events seen, to title markets read without them
        self._cutoff: tuple[datetime, datetime | None] | None = None  # (read at, settled cutoff)
        self._cutoff_read = asyncio.Lock()  # concurrent history jobs read the cutoff once

    def request_signer(self, settings: Settings) -> RequestSigner | None:
        signer, sign_all = self.signer, self.sign_all
        if signer is None:
            return None

        def sign(method: str, url: str, endpoint: str) -> Mapping[str, str]:
            if sign_all or endpoint.startswith(PRIVATE_PREFIXES):
                return signer.headers(method, url)
            return {}

        return sign

    def can_stream(self) -> bool:
        """The WebSocket's handshake must be signed: no credentials, no stream (polling)."""
        return self.signer is not None

    def signing(self) -> str | None:
        if self.signer is None:
            return None
        rest = "every REST call" if self.sign_all else "private REST endpoints"
        return f"the WebSocket handshake and {rest}"

    def stream(self, refs: Sequence[MarketRef]) -> AsyncIterator[StreamUpdate]:
        from predhub.venues.kalshi.stream import market_stream

        if self.signer is None:
            raise NotSupported(
                "kalshi streams only with KALSHI_API_KEY and KALSHI_PRIVATE_KEY_FILE set"
            )
        return market_stream(self.settings, self.signer, refs)

    async def ping(self) -> bool:
        return await self.http.ping("/markets", params={"limit": 1})

    # --- listings -------------------------------------------------------------------

    async def list_events(self) -> AsyncIterator[Fetched[Event]]:
        """Open events, with their nested markets folded into status and volume."""
        async for page, _markets in self._event_pages(status="open"):
            yield page

    async def _event_pages(
        self, *, status: str | None
    ) -> AsyncIterator[tuple[Fetched[Event], list[Market]]]:
        """`/events?with_nested_markets=true` pages: the events and all their markets."""
        endpoint = "/events"
        guard = CursorGuard(VENUE, endpoint)
        cursor: str | None = None
        while True:
            params = {
                "limit": EVENTS_PAGE,
                "status": status,
                "with_nested_markets": "true",
                "cursor": cursor,
            }
            body, raw = await self.http.get_json(endpoint, params=params)
            page: Fetched[Event] = Fetched(raw=[raw])
            try:
                events, markets, errors, next_cursor = parse.parse_events_page(body, endpoint)
            except ItemInvalid as exc:
                page.errors.append(page_error(VENUE, endpoint, exc, body, raw))
                yield page, []
                return
            page.items, page.errors = events, errors
            with_raw([*events, *markets, *errors], raw)
            self._events.update((e.native_id, e) for e in events)
            yield page, markets
            cursor = guard.advance(next_cursor)
            if cursor is None:
                return

    async def list_markets(
        self, *, since: datetime | None = None, active_only: bool = True
    ) -> AsyncIterator[Fetched[Market]]:
        """Markets page by page, with their events' titles and categories.

        A full listing walks `/events?with_nested_markets=true` (200 events
        per call): Kalshi's `/markets` rows lack the event title and category
        that search and filters need, and the nested listing carries them at
        no extra request. A delta (`since`) reads `/markets?min_updated_ts`
        (which takes no status filter) and fills titles from events already
        seen by this adapter.
        """
        if since is None:
            async for events, markets in self._event_pages(status="open" if active_only else None):
                if active_only:
                    markets = [m for m in markets if m.status is MarketStatus.OPEN]
                yield Fetched(items=markets, raw=events.raw, errors=events.errors)
            return
        params: dict[str, Any] = {
            "limit": MARKETS_PAGE,
            "mve_filter": "exclude",
            "min_updated_ts": to_unix(since),
        }
        async for page in self._markets_pages("/markets", params):
            for market in page.items:
                self._fill_event(market)
            yield page

    async def closed_markets(  # type: ignore[override]
        self, *, cursor: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[Fetched[Market]]:
        """Closed, then settled markets from `/markets`, then the archive in `/historical/markets`.

        The resume cursor is `<phase>|<venue cursor>`. `since` becomes
        `min_close_ts` on `/markets`; `/historical/markets` takes no time
        filter, so its older markets are dropped here instead.
        """
        phase, _, inner = (cursor or "").partition("|")
        start = CLOSED_PHASES.index(phase) if phase in CLOSED_PHASES else 0
        for i in range(start, len(CLOSED_PHASES)):
            name = CLOSED_PHASES[i]
            endpoint = "/historical/markets" if name == "historical" else "/markets"
            params: dict[str, Any] = {"limit": CLOSED_PAGE}
            if name != "historical":
                params["status"] = name
                if since is not None:
                    params["min_close_ts"] = to_unix(since)
            guard = CursorGuard(VENUE, endpoint)
            venue_cursor: str | None = inner if i == start and inner else None
            while True:
                body, raw = await self.http.get_json(
                    endpoint, params={**params, "cursor": venue_cursor}
                )
                page, next_cursor = self._markets_page(endpoint, body, raw)
                if since is not None and name == "historical":
                    page.items = [m for m in page.items if m.end_at is None or m.end_at >= since]
                for market in page.items:
                    self._fill_event(market)
                venue_cursor = guard.advance(next_cursor)
                if venue_cursor is not None:
                    page.watermark = f"{name}|{venue_cursor}"
                elif i + 1 < len(CLOSED_PHASES):
                    page.watermark = f"{CLOSED_PHASES[i + 1]}|"
                else:
                    page.watermark = ""
                yield page
                if venue_cursor is None:
                    break

    def _fill_event(self, market: Market) -> None:
        event = self._events.get(market.event_native_id or "")
        if event is None:
            return
        market.event_title = market.event_title or event.title
        market.category = market.category or event.category
        if series := event.extra.get("series_ticker"):
            market.extra.setdefault("series_ticker", series)
        tags = [t for t in (market.category, market.extra.get("series_ticker")) if t]
        if tags:
            market.extra["venue_tags"] = tags

    async def _markets_pages(
        self, endpoint: str, params: dict[str, Any]
    ) -> AsyncIterator[Fetched[Market]]:
        guard = CursorGuard(VENUE, endpoint)
        cursor: str | None = None
        while True:
            body, raw = await self.http.get_json(endpoint, params={**params, "cursor": cursor})
            page, next_cursor = self._markets_page(endpoint, body, raw)
            yield page
            cursor = guard.advance(next_cursor)
            if cursor is None:
                return

    @staticmethod
    def _markets_page(endpoint: str, body: Any, raw: RawResponse) -> tuple[Fetched[Market], str]:
        """One markets page and the next cursor ("" = none)."""
        page: Fetched[Market] = Fetched(raw=[raw])
        try:
            markets, errors, cursor = parse.parse_markets_page(body, endpoint)
        except ItemInvalid as exc:
            page.errors.append(page_error(VENUE, endpoint, exc, body, raw))
            return page, ""
        page.items, page.errors = markets, errors
        with_raw([*markets, *errors], raw)
        return page, cursor

    async def markets_by_id(self, refs: Sequence[MarketRef]) -> Fetched[Market]:
        """Batch lookups by ticker; tickers missing from the live set are tried in /historical."""
        tickers = list(dict.fromkeys(ticker_of(r) for r in refs))
        out: Fetched[Market] = Fetched()
        await self._by_tickers("/markets", tickers, out)
        found = {m.native_id for m in out.items}
        missing = [t for t in tickers if t not in found]
        if missing:
            await self._by_tickers("/historical/markets", missing, out)
        for market in out.items:
            self._fill_event(market)
        return out

    async def _by_tickers(self, endpoint: str, tickers: list[str], out: Fetched[Market]) -> None:
        for batch in chunks(tickers, TICKERS_PER_CALL):
            params = {"tickers": ",".join(batch), "limit": MARKETS_PAGE}
            async for page in self._markets_pages(endpoint, params):
                out.extend(page)

    async def quotes(self, refs: Sequence[MarketRef]) -> Fetched[Quote]:
        """Both outcomes' quotes from the markets' own bid/ask/last, 100 markets per call."""
        markets = await self.markets_by_id(refs)
        out: Fetched[Quote] = Fetched(raw=markets.raw, errors=markets.errors)
        for market in markets.items:
            observed = market.raw.fetched_at if market.raw else utc_now()
            for quote in parse.quotes_from_market(market, observed):
                quote.raw = market.raw
                out.items.append(quote)
        return out

    async def order_books(self, refs: Sequence[MarketRef]) -> Fetched[OrderBook]:
        """Bids-only books as unified Yes/No books, 100 markets per batch call.

        A ticker the batch answer leaves out is asked for on its own
        (`/markets/{ticker}/orderbook`), so a market is never skipped quietly.
        """
        tickers = list(dict.fromkeys(ticker_of(r) for r in refs))
        out: Fetched[OrderBook] = Fetched()
        endpoint = "/markets/orderbooks"
        for batch in chunks(tickers, TICKERS_PER_CALL):
            try:
                body, raw = await self.http.get_json(endpoint, params={"tickers": ",".join(batch)})
            except FatalError as exc:
                if exc.status not in (400, 404):
                    raise
                body, raw = None, None  # no batch endpoint here: one call per market
            found: set[str] = set()
            if raw is not None:
                out.raw.append(raw)
                try:
                    books, errors = parse.parse_orderbooks_page(body, raw.fetched_at, endpoint)
                except ItemInvalid as exc:
                    out.errors.append(page_error(VENUE, endpoint, exc, body, raw))
                    continue
                with_raw([*books, *errors], raw)
                out.items.extend(books)
                out.errors.extend(errors)
                found = {b.market_native_id for b in books} | {e.item_id or "" for e in errors}
            missing = [t for t in batch if t not in found]
            for result in await asyncio.gather(*(self.order_book(t) for t in missing)):
                out.extend(result)
        return out

    async def order_book(self, ticker: str) -> Fetched[OrderBook]:
        """One market's book from `/markets/{ticker}/orderbook` (nothing if it is unknown)."""
        return await self._one_market(
            "/markets/{ticker}/orderbook",
            f"/markets/{ticker}/orderbook",
            lambda body, raw: (parse.parse_orderbook_body(ticker, body, raw.fetched_at), []),
            ticker=ticker,
        )

    # --- history ----------------------------------------------------------------------

    async def price_history(
        self, ref: MarketRef, *, start: datetime, end: datetime, interval_seconds: int = 3600
    ) -> Fetched[PricePoint]:
        """Candlestick closes; a market archived past the cutoff is read from /historical."""
        ticker = ticker_of(ref)
        period = period_for(interval_seconds)
        out: Fetched[PricePoint] = Fetched()
        span = timedelta(minutes=period * CANDLES_PER_CALL)
        lo = start
        while lo < end:
            hi = min(end, lo + span)
            await self._candles(ref, ticker, period, lo, hi, out)
            lo = hi
        seen: set[tuple[int, datetime]] = set()
        unique = []
        for point in out.items:  # window edges can repeat a candle
            if start <= point.ts <= end and (point.outcome_index, point.ts) not in seen:
                seen.add((point.outcome_index, point.ts))
                unique.append(point)
        out.items = unique
        return out

    bulk_history_markets: ClassVar[int] = BATCH_TICKERS

    async def price_histories(
        self, windows: Sequence[HistoryWindow], *, interval_seconds: int = 3600
    ) -> MarketsHistory:
        """Candlesticks of many markets from `/markets/candlesticks`, 100 tickers a request.

        The batch endpoint serves the live set only: a market that closed
        before the venue's historical cutoff (`/historical/cutoff`, read once
        an hour) has its candlesticks at `/historical/markets/{ticker}/candlesticks`,
        one market a request, so it is handed back in `rest` unasked, as is
        any market the answer leaves out. One request spans its markets'
        windows together (each market keeps the points of its own), and holds
        as many markets as fit the endpoint's 10,000 candlesticks with every
        market answering a candle each period of that span. An answer that
        holds 10,000 anyway may have been cut, so its request is split in two
        and read again.
        """
        out = MarketsHistory()
        cutoff = await self._settled_cutoff()
        live: list[HistoryWindow] = []
        for w in windows:
            if cutoff is not None and w.end < cutoff:
                out.rest.append(w)
            else:
                live.append(w)
        period = period_for(interval_seconds)
        live.sort(key=lambda w: w.end)  # neighbours in time share a window
        answered: set[str] = set()
        for group in _candle_groups(live, period):
            await self._batch_candles(group, period, out.fetched, answered)
        out.answered = [ticker_of(w.ref) for w in live if ticker_of(w.ref) in answered]
        out.rest.extend(w for w in live if ticker_of(w.ref) not in answered)
        return out

    async def _batch_candles(
        self,
        group: Sequence[HistoryWindow],
        period: int,
        out: Fetched[PricePoint],
        answered: set[str],
    ) -> None:
        endpoint = parse.BATCH_CANDLES_ENDPOINT
        by_ticker = {ticker_of(w.ref): w for w in group}
        lo = min(w.start for w in group)
        hi = max(w.end for w in group)
        params = {
            "market_tickers": ",".join(by_ticker),
            "start_ts": to_unix(lo),
            "end_ts": to_unix(hi),
            "period_interval": period,
        }
        body, raw = await self.http.get_json(endpoint, params=params)
        try:
            points, errors, counts = parse.parse_batch_candlesticks(body, by_ticker, endpoint)
        except ItemInvalid as exc:
            out.raw.append(raw)
            out.errors.append(page_error(VENUE, endpoint, exc, body, raw))
            return  # nothing answered: every market is read alone
        if sum(counts.values()) >= BATCH_CANDLES and len(group) > 1:
            half = len(group) // 2  # the answer may be cut at the cap: ask in two
            await self._batch_candles(group[:half], period, out, answered)
            await self._batch_candles(group[half:], period, out, answered)
            return
        out.raw.append(raw)
        with_raw([*points, *errors], raw)
        out.errors.extend(errors)
        seen: set[tuple[str, int, datetime]] = set()
        for point in points:
            w = by_ticker[point.market_native_id]
            key = (point.market_native_id, point.outcome_index, point.ts)
            if w.start <= point.ts <= w.end and key not in seen:
                seen.add(key)
                out.items.append(point)
        answered.update(counts)

    async def _settled_cutoff(self) -> datetime | None:
        """`market_settled_ts` of `/historical/cutoff`; None when the venue does not say."""
        async with self._cutoff_read:  # a second caller waits for the first's read
            now = utc_now()
            if self._cutoff is not None and now - self._cutoff[0] < CUTOFF_TTL:
                return self._cutoff[1]
            try:
                body, _raw = await self.http.get_json("/historical/cutoff")
                cutoff: datetime | None = iso_time(
                    req(obj(body, "cutoff"), "market_settled_ts"), "market_settled_ts"
                )
            except (VenueNotFound, ItemInvalid):
                cutoff = None  # no tiers known: every market is tried in the batch first
            self._cutoff = (now, cutoff)
            return cutoff

    async def _candles(
        self,
        ref: MarketRef,
        ticker: str,
        period: int,
        lo: datetime,
        hi: datetime,
        out: Fetched[PricePoint],
    ) -> None:
        params = {"start_ts": to_unix(lo), "end_ts": to_unix(hi), "period_interval": period}
        live = (
            "/series/{series_ticker}/markets/{ticker}/candlesticks",
            f"/series/{series_of(ref)}/markets/{ticker}/candlesticks",
        )
        archive = (
            "/historical/markets/{ticker}/candlesticks",
            f"/historical/markets/{ticker}/candlesticks",
        )
        # a window that ended before the cutoff is most likely archived: ask there first
        cutoff = self._cutoff[1] if self._cutoff is not None else None
        first, second = (archive, live) if cutoff is not None and hi < cutoff else (live, archive)
        endpoint = first[0]
        try:
            body, raw = await self.http.get_json(first[0], first[1], params)
        except VenueNotFound:
            endpoint = second[0]
            body, raw = await self.http.get_json(second[0], second[1], params)
        historical = endpoint == archive[0]
        out.raw.append(raw)
        try:
            points, errors = parse.parse_candlesticks(ticker, body, endpoint, historical=historical)
        except ItemInvalid as exc:
            out.errors.append(page_error(VENUE, endpoint, exc, body, raw))
            return
        with_raw([*points, *errors], raw)
        out.items.extend(points)
        out.errors.extend(errors)

    async def trades_since(
        self, ref: MarketRef, watermark: str | None
    ) -> AsyncIterator[Fetched[Trade]]:
        """Trades newer than `watermark` (an ISO time), handed out oldest first.

        Kalshi pages trades newest first, so the new ones (`min_ts` narrows the
        read to the watermark's second) are read to the end, then handed out
        oldest first in pages, each carrying the time of its newest trade as
        its watermark: a sync interrupted after any page resumes without a gap.
        A page never splits trades of the same instant, so "newer than the
        watermark" loses none of them.
        """
        endpoint = "/markets/trades"
        after = iso_time(watermark, "watermark") if watermark else None
        params: dict[str, Any] = {"ticker": ticker_of(ref), "limit": TRADES_PAGE}
        if after is not None:
            params["min_ts"] = to_unix(after)
        guard = CursorGuard(VENUE, endpoint)
        collected: Fetched[Trade] = Fetched()
        cursor: str | None = None
        while True:
            body, raw = await self.http.get_json(endpoint, params={**params, "cursor": cursor})
            collected.raw.append(raw)
            try:
                trades, errors, next_cursor = parse.parse_trades_page(body, endpoint)
            except ItemInvalid as exc:
                collected.errors.append(page_error(VENUE, endpoint, exc, body, raw))
                break
            with_raw([*trades, *errors], raw)
            collected.items.extend(t for t in trades if after is None or t.executed_at > after)
            collected.errors.extend(errors)
            cursor = guard.advance(next_cursor)
            if cursor is None:
                break
        trades = sorted(collected.items, key=lambda t: t.executed_at)
        if not trades:
            yield Fetched(raw=collected.raw, errors=collected.errors, watermark=watermark)
            return
        first = True
        for chunk in _same_instant_chunks(trades, TRADES_PAGE):
            page: Fetched[Trade] = Fetched(items=chunk, watermark=chunk[-1].executed_at.isoformat())
            if first:
                page.raw, page.errors = collected.raw, collected.errors
                first = False
            yield page


def _candle_groups(windows: Sequence[HistoryWindow], period: int) -> list[list[HistoryWindow]]:
    """Consecutive windows (sorted by end) in requests no answer can take past the cap.

    A market answers at most a candle a period of the request's span, so a
    group of n markets spanning p periods holds at most n * p candlesticks.
    """
    step = period * 60
    groups: list[list[HistoryWindow]] = []
    group: list[HistoryWindow] = []
    lo = hi = 0
    for w in windows:
        start, end = to_unix(w.start), to_unix(w.end)
        if group:
            span_lo, span_hi = min(lo, start), max(hi, end)
            periods = (span_hi - span_lo) // step + 2
            if len(group) >= BATCH_TICKERS or (len(group) + 1) * periods > BATCH_CANDLES:
                groups.append(group)
                group = []
        if not group:
            lo, hi = start, end
        lo, hi = min(lo, start), max(hi, end)
        group.append(w)
    if group:
        groups.append(group)
    return groups


def _same_instant_chunks(trades: list[Trade], size: int) -> list[list[Trade]]:
    """Chunks of about `size` trades, never splitting trades that share an instant."""
    chunks_: list[list[Trade]] = [[]]
    for trade in trades:
        current = chunks_[-1]
        if len(current) >= size and current[-1].executed_at != trade.executed_at:
            chunks_.append([])
        chunks_[-1].append(trade)
    return chunks_
