"""`Client` and `AsyncClient`: the API's routes as typed methods over httpx.

Both take any market id form, tiers and `max_age`, follow cursors
(`iter_markets`, `iter_trades`, ...), retry reads that failed for a passing
reason (connection errors, 429, 502-504) with exponential backoff and jitter,
waiting what `Retry-After` says when the hub says it, and raise one exception
per kind of answer (`predhub.client.errors`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import BaseModel

from predhub.api import schemas
from predhub.client import calls
from predhub.client.calls import Call, Candles, Id, Page, When
from predhub.client.errors import (
    RETRY_STATUSES,
    HubClientError,
    HubUnreachable,
    error_for,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "predhub-client/1"


def retry_delay(attempt: int, response: httpx.Response | None, backoff: float) -> float:
    """How long to wait before retry `attempt` (1-based): Retry-After, else backoff."""
    if response is not None:
        after = response.headers.get("retry-after")
        if after is not None:
            try:
                return min(max(float(after), 0.0), 60.0)
            except ValueError:
                pass
    return float(backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))


def _result(call: Call[T], response: httpx.Response) -> T:
    if response.status_code >= 400:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        raise error_for(response.status_code, body)
    return call.parse(orjson.loads(response.content))


class _Base:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        timeout: float,
        max_retries: int,
        backoff: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self.headers = {"user-agent": USER_AGENT, "accept": "application/json"}
        if api_key:
            self.headers["x-api-key"] = api_key
        self.timeout = timeout

    def _retryable(self, call: Call[Any], attempt: int, response: httpx.Response | None) -> bool:
        if not call.retry or attempt > self.max_retries:
            return False
        return response is None or response.status_code in RETRY_STATUSES


class Client(_Base):
    """The hub's API, synchronously. Use as a context manager or call `close()`."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: float = 0.25,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, api_key=api_key, timeout=timeout, max_retries=max_retries, backoff=backoff
        )
        self._http = httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _do(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            response: httpx.Response | None = None
            try:
                response = self._http.request(
                    call.method, call.path, params=call.params or None, json=call.json
                )
            except httpx.TransportError as exc:
                if not self._retryable(call, attempt, None):
                    raise HubUnreachable(f"{call.method} {call.path}: {exc!r}") from exc
            if response is not None and not self._retryable(call, attempt, response):
                return _result(call, response)
            time.sleep(retry_delay(attempt, response, self.backoff))

    def _pages(self, make: Callable[[str | None], Call[Page[M]]]) -> Iterator[M]:
        cursor: str | None = None
        while True:
            page = self._do(make(cursor))
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    # ------------------------------------------------------------ markets
    def markets(
        self,
        *,
        venue: str | None = None,
        status: schemas.Status | None = None,
        category: str | None = None,
        event: Id | None = None,
        min_volume: float | None = None,
        closing_before: When | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[schemas.Market]:
        """One page of markets; `sort` is a field (volume_24h, liquidity, end_at,
        change_1h, change_24h, change_7d), `-` first for descending."""
        return self._do(
            calls.markets(
                venue=venue,
                status=status,
                category=category,
                event=event,
                min_volume=min_volume,
                closing_before=closing_before,
                min_price=min_price,
                max_price=max_price,
                sort=sort,
                limit=limit,
                cursor=cursor,
            )
        )

    def iter_markets(
        self,
        *,
        venue: str | None = None,
        status: schemas.Status | None = None,
        category: str | None = None,
        event: Id | None = None,
        min_volume: float | None = None,
        closing_before: When | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[schemas.Market]:
        """Every market matching the filters, page after page (`limit` per page)."""
        return self._pages(
            lambda c: calls.markets(
                venue=venue,
                status=status,
                category=category,
                event=event,
                min_volume=min_volume,
                closing_before=closing_before,
                min_price=min_price,
                max_price=max_price,
                sort=sort,
                limit=limit,
                cursor=c,
            )
        )

    def market(self, market_id: Id) -> schemas.Market:
        return self._do(calls.market(market_id))

    def outcomes(self, market_id: Id) -> list[schemas.OutcomeQuote]:
        return self._do(calls.outcomes(market_id))

    def quote(
        self, market_id: Id, *, tier: str | None = None, max_age: float | None = None
    ) -> schemas.MarketPrice:
        return self._do(calls.quote_(market_id, tier, max_age))

    def price(
        self, market_id: Id, *, tier: str | None = None, max_age: float | None = None
    ) -> schemas.MarketPrice:
        return self._do(calls.price(market_id, tier, max_age))

    def live_price(self, market_id: Id) -> schemas.MarketPrice:
        return self._do(calls.live_price(market_id))

    def prices(
        self, ids: Sequence[Id], *, tier: str | None = None, max_age: float | None = None
    ) -> dict[str, schemas.MarketPrice | schemas.PriceErrorEntry]:
        return self._do(calls.prices(ids, tier, max_age))

    # ------------------------------------------------------------ history
    def history(
        self,
        market_id: Id,
        *,
        interval: str | None = None,
        range: str | None = None,  # the API's own name
        start: When | None = None,
        end: When | None = None,
        outcome: int | None = None,
        fill: bool | None = None,
    ) -> Candles:
        """Candles: `interval` 1m..1d, over `range` (1h..5y) back from `end`, or from `start`."""
        return self._do(
            calls.history(
                market_id,
                interval=interval,
                range=range,
                start=start,
                end=end,
                outcome=outcome,
                fill=fill,
            )
        )

    def trades(
        self, market_id: Id, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[schemas.TradeOut]:
        return self._do(calls.trades(market_id, limit=limit, cursor=cursor))

    def iter_trades(self, market_id: Id, *, limit: int = 1000) -> Iterator[schemas.TradeOut]:
        return self._pages(lambda c: calls.trades(market_id, limit=limit, cursor=c))

    def book(self, market_id: Id, *, at: When | None = None) -> schemas.Books:
        return self._do(calls.book(market_id, at))

    def price_at(self, market_id: Id, at: When) -> schemas.PriceAt:
        return self._do(calls.price_at(market_id, at))

    # ------------------------------------------------------------ catalogue
    def events(
        self,
        *,
        venue: str | None = None,
        status: schemas.Status | None = None,
        category: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[schemas.Event]:
        return self._do(
            calls.events(venue=venue, status=status, category=category, limit=limit, cursor=cursor)
        )

    def iter_events(
        self,
        *,
        venue: str | None = None,
        status: schemas.Status | None = None,
        category: str | None = None,
        limit: int | None = None,
    ) -> Iterator[schemas.Event]:
        return self._pages(
            lambda c: calls.events(
                venue=venue, status=status, category=category, limit=limit, cursor=c
            )
        )

    def event(self, event_id: Id) -> schemas.EventDetail:
        return self._do(calls.event(event_id))

    def search(
        self,
        q: str,
        *,
        venue: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[schemas.SearchHit]:
        """Markets whose question or event title holds the words; `status` may be "any"."""
        return self._do(calls.search(q, venue=venue, status=status, limit=limit, cursor=cursor))

    def top(
        self, *, venue: str | None = None, n: int | None = None, min_volume: float | None = None
    ) -> schemas.TopMarkets:
        return self._do(calls.top(venue=venue, n=n, min_volume=min_volume))

    def venues(self) -> schemas.Venues:
        return self._do(calls.venues())

    def movers(self, *, window: str | None = None, limit: int | None = None) -> schemas.Movers:
        """The largest price moves over `window` (1h, 24h, 7d)."""
        return self._do(calls.movers(window=window, limit=limit))

    def trending(self, *, limit: int | None = None) -> schemas.Trending:
        return self._do(calls.trending(limit=limit))

    def arbitrage(
        self,
        *,
        min_edge: float | None = None,
        min_size: float | None = None,
        venue: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Any:
        """Arbitrage opportunities (status open, best edge first, or closed)."""
        return self._do(
            calls.arbitrage(
                min_edge=min_edge,
                min_size=min_size,
                venue=venue,
                status=status,
                limit=limit,
                cursor=cursor,
            )
        )

    def stats(self) -> schemas.Stats:
        return self._do(calls.stats())

    # ------------------------------------------------------------ the rest
    def legacy_price(
        self, condition_id: str, *, max_age_seconds: float | None = None
    ) -> schemas.LegacyPrice:
        return self._do(calls.legacy_price(condition_id, max_age_seconds))

    def legacy_prices(
        self,
        condition_ids: Sequence[str],
        *,
        tier: str | None = None,
        max_age_seconds: float | None = None,
    ) -> schemas.LegacyBatchPrices:
        return self._do(calls.legacy_prices(condition_ids, tier, max_age_seconds))

    def refresh(
        self, venue: str, *, scope: str = "quotes", ids: Sequence[Id] | None = None
    ) -> schemas.RefreshResult:
        """Refresh from the venue now (needs an admin API key)."""
        return self._do(calls.refresh(venue, scope, ids))

    def matches(
        self,
        *,
        status: str | None = None,
        venue: str | None = None,
        min_confidence: float | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Any:
        """One page of cross-venue matches (status proposed, confirmed or rejected)."""
        return self._do(
            calls.matches(
                status=status,
                venue=venue,
                min_confidence=min_confidence,
                limit=limit,
                cursor=cursor,
            )
        )

    def market_matches(self, market_id: Id) -> Any:
        """The matches one market takes part in."""
        return self._do(calls.market_matches(market_id))

    def confirm_match(
        self, match_id: int, *, decided_by: str | None = None, note: str | None = None
    ) -> Any:
        """Confirm a proposed match (needs an admin API key)."""
        return self._do(calls.decide_match(match_id, "confirm", decided_by, note))

    def reject_match(
        self, match_id: int, *, decided_by: str | None = None, note: str | None = None
    ) -> Any:
        """Reject a proposed match (needs an admin API key)."""
        return self._do(calls.decide_match(match_id, "reject", decided_by, note))

    def research(
        self,
        market_id: Id,
        *,
        type: str | None = None,
        since: When | None = None,
        until: When | None = None,
        limit: int | None = None,
    ) -> Any:
        """A market's research, newest first (expired research is not served)."""
        return self._do(
            calls.research(market_id=market_id, type=type, since=since, until=until, limit=limit)
        )

    def add_research(
        self,
        market_id: Id,
        research_data: str,
        *,
        research_type: str | None = None,
        sources: list[Any] | None = None,
        expires_at: When | None = None,
        ttl_seconds: float | None = None,
    ) -> Any:
        """Keep research gathered for a market (needs a key allowed to write research)."""
        return self._do(
            calls.add_research(
                market_id=market_id,
                research_data=research_data,
                research_type=research_type,
                sources=sources,
                expires_at=expires_at,
                ttl_seconds=ttl_seconds,
            )
        )

    def research_item(self, research_id: str) -> Any:
        """One piece of research (410 once it has expired)."""
        return self._do(calls.research_item(research_id=research_id))

    def analyses(
        self,
        market_id: Id,
        *,
        recommendation: str | None = None,
        since: When | None = None,
        until: When | None = None,
        archived: bool | None = None,
        limit: int | None = None,
    ) -> Any:
        """A market's analyses (archived=True reads the archive)."""
        return self._do(
            calls.analyses(
                market_id=market_id,
                recommendation=recommendation,
                since=since,
                until=until,
                archived=archived,
                limit=limit,
            )
        )

    def add_analysis(
        self,
        market_id: Id,
        query_text: str,
        *,
        analysis_result: dict[str, Any] | None = None,
        confidence_score: float | None = None,
        recommendation: str | None = None,
        processing_time_ms: int | None = None,
        llm_tokens_used: int | None = None,
        research_id: str | None = None,
        conclusion: dict[str, Any] | None = None,
    ) -> Any:
        """Record an analysis of a market (needs a key allowed to write research)."""
        return self._do(
            calls.add_analysis(
                market_id=market_id,
                query_text=query_text,
                analysis_result=analysis_result,
                confidence_score=confidence_score,
                recommendation=recommendation,
                processing_time_ms=processing_time_ms,
                llm_tokens_used=llm_tokens_used,
                research_id=research_id,
                conclusion=conclusion,
            )
        )

    def analysis(self, analysis_id: str) -> Any:
        """One analysis with its conclusion."""
        return self._do(calls.analysis(analysis_id=analysis_id))

    def add_conclusion(
        self,
        analysis_id: str,
        conclusion: str,
        *,
        sentiment: str | None = None,
        supporting_data: dict[str, Any] | None = None,
    ) -> Any:
        """The one conclusion of an analysis (a second is refused with 409)."""
        return self._do(
            calls.add_conclusion(
                analysis_id=analysis_id,
                conclusion=conclusion,
                sentiment=sentiment,
                supporting_data=supporting_data,
            )
        )

    def accounts(self) -> Any:
        """Every account with its level (admin key)."""
        return self._do(calls.accounts())

    def create_account(self, name: str, *, level: str | None = None) -> Any:
        """Create an account at a level (admin key)."""
        return self._do(calls.create_account(name=name, level=level))

    def set_account_level(self, name: str, level: str) -> Any:
        """Change an account's level (admin key)."""
        return self._do(calls.set_account_level(name=name, level=level))

    def keys(self, *, account: str | None = None, revoked: bool | None = None) -> Any:
        """API keys, never their secrets (admin key)."""
        return self._do(calls.keys(account=account, revoked=revoked))

    def create_key(
        self,
        account: str,
        *,
        name: str | None = None,
        level: str | None = None,
        expires_at: When | None = None,
    ) -> Any:
        """A new API key for an account; its secret is in this answer only (admin key)."""
        return self._do(
            calls.create_key(account=account, name=name, level=level, expires_at=expires_at)
        )

    def revoke_key(self, key: str) -> Any:
        """Revoke an API key (admin key)."""
        return self._do(calls.revoke_key(key=key))

    def audit(
        self,
        *,
        account: str | None = None,
        route: str | None = None,
        object: str | None = None,
        status: int | None = None,
        errors: bool | None = None,
        since: When | None = None,
        until: When | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> Any:
        """The audit log of writes and admin actions, newest first (admin key)."""
        return self._do(
            calls.audit(
                account=account,
                route=route,
                object=object,
                status=status,
                errors=errors,
                since=since,
                until=until,
                before=before,
                limit=limit,
            )
        )

    def database(self, *, top: int | None = None, long_seconds: float | None = None) -> Any:
        """The database's sizes, slow statements, connections and backups (admin key)."""
        return self._do(calls.database(top=top, long_seconds=long_seconds))

    def healthz(self) -> schemas.Health:
        return self._do(calls.healthz())

    def readyz(self) -> schemas.Health:
        return self._do(calls.readyz())

    def download(self, path: str, out: str, *, fmt: str = "parquet", **params: Any) -> int:
        """Stream an export (`path` such as /v1/markets/42/trades) to the file `out`;
        returns the bytes written."""
        written = 0
        query = calls._clean({**params, "format": fmt})
        with self._http.stream("GET", path, params=query) as response:
            if response.status_code >= 400:
                response.read()
                raise error_for(response.status_code, _maybe_json(response.content))
            with open(out, "wb") as file:
                for chunk in response.iter_bytes():
                    file.write(chunk)
                    written += len(chunk)
        return written


def _maybe_json(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


class AsyncClient(_Base):
    """The hub's API for asyncio, with `subscribe` for the live feed."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, api_key=api_key, timeout=timeout, max_retries=max_retries, backoff=backoff
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _do(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            response: httpx.Response | None = None
            try:
                response = await self._http.request(
                    call.method, call.path, params=call.params or None, json=call.json
                )
            except httpx.TransportError as exc:
                if not self._retryable(call, attempt, None):
                    raise HubUnreachable(f"{call.method} {call.path}: {exc!r}") from exc
            if response is not None and not self._retryable(call, attempt, response):
                return _result(call, response)
            await asyncio.sleep(retry_delay(attempt, response, self.backoff))

    async def _pages(self, make: Callable[[str | None], Call[Page[M]]]) -> AsyncIterator[M]:
        cursor: str | None = None
        while True:
            page = await self._do(make(cursor))
            for item in page.data:
                yield item
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def markets(
        self,
        *,
        venue: str | None = None,
        status: schemas.Status | None = None,
        category: str | None = None,
        event: Id | None = None,
        min_volume: float | None = None,
        closing_before: When | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[schemas.Market]:
        return await self._do(
            calls.markets(
                venue=venue,
                status=status,
                category=category,
                event=event,
                min_volume=min_volume,
                closing_before=closing_before,
                min_price=min_price,
                max_price=max_price,
                sort=sort,
                limit=limit,
                cursor=cursor,
            )
        )

    def iter_markets(
        self,
        *,
        venue: str | None = None,
        status: schemas.Status | None = None,
        category: str | None = None,
        event: Id | None = None,
        min_volume: float | None = None,
        closing_before: When | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[schemas.Market]:
        return self._pages(
            lambda c: calls.markets(
                venue=venue,
                status=status,
                category=category,
                event=event,
                min_volume=min_volume,
                closing_before=closing_before,
                min_price=min_price,
                max_price=max_price,
                sort=sort,
                limit=limit,
                cursor=c,
            )
        )

    async def market(self, market_id: Id) -> schemas.Market:
        return await self._do(calls.market(market_id))

    async def outcomes(self, market_id: Id) -> list[schemas.OutcomeQuote]:
        return await self._do(calls.outcomes(market_id))

    async def quote(
        self, market_id: Id, *, tier: str | None = None, max_age: float | None = None
    ) -> schemas.MarketPrice:
        return await self._do(calls.quote_(market_id, tier, max_age))

    async def price(
        self, market_id: Id, *, tier: str | None = None, max_age: float | None = None
    ) -> schemas.MarketPrice:
        return await self._do(calls.price(market_id, tier, max_age))

    async def live_price(self, market_id: Id) -> schemas.MarketPrice:
        return await self._do(calls.live_price(market_id))

    async def prices(
        self, ids: Sequence[Id], *, tier: str | None = None, max_age: float | None = None
    ) -> dict[str, schemas.MarketPrice | schemas.PriceErrorEntry]:
        return await self._do(calls.prices(ids, tier, max_age))

    async def history(
        self,
        market_id: Id,
        *,
        interval: str | None = None,
        range: str | None = None,  # the API's own name
        start: When | None = None,
        end: When | None = None,
        outcome: int | None = None,
        fill: bool | None = None,
    ) -> Candles:
        return await self._do(
            calls.history(
                market_id,
                interval=interval,
                range=range,
                start=start,
                end=end,
                outcome=outcome,
                fill=fill,
            )
        )

    async def trades(
        self, market_id: Id, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[schemas.TradeOut]:
        return await self._do(calls.trades(market_id, limit=limit, cursor=cursor))

    def iter_trades(self, market_id: Id, *, limit: int = 1000) -> AsyncIterator[schemas.TradeOut]:
        return self._pages(lambda c: calls.trades(market_id, limit=limit, cursor=c))

    async def book(self, market_id: Id, *, at: When | None = None) -> schemas.Books:
        return await self._do(calls.book(market_id, at))

    async def price_at(self, market_id: Id, at: When) -> schemas.PriceAt:
        return await self._do(calls.price_at(market_id, at))

    async def events(
        self,
        *,
        venue: str | None = None,
        status: schemas.Status | None = None,
        category: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[schemas.Event]:
        return await self._do(
            calls.events(venue=venue, status=status, category=category, limit=limit, cursor=cursor)
        )

    def iter_events(
        self,
        *,
        venue: str | None = None,
        status: schemas.Status | None = None,
        category: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[schemas.Event]:
        return self._pages(
            lambda c: calls.events(
                venue=venue, status=status, category=category, limit=limit, cursor=c
            )
        )

    async def event(self, event_id: Id) -> schemas.EventDetail:
        return await self._do(calls.event(event_id))

    async def search(
        self,
        q: str,
        *,
        venue: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[schemas.SearchHit]:
        return await self._do(
            calls.search(q, venue=venue, status=status, limit=limit, cursor=cursor)
        )

    async def top(
        self, *, venue: str | None = None, n: int | None = None, min_volume: float | None = None
    ) -> schemas.TopMarkets:
        return await self._do(calls.top(venue=venue, n=n, min_volume=min_volume))

    async def venues(self) -> schemas.Venues:
        return await self._do(calls.venues())

    async def movers(
        self, *, window: str | None = None, limit: int | None = None
    ) -> schemas.Movers:
        return await self._do(calls.movers(window=window, limit=limit))

    async def trending(self, *, limit: int | None = None) -> schemas.Trending:
        return await self._do(calls.trending(limit=limit))

    async def arbitrage(
        self,
        *,
        min_edge: float | None = None,
        min_size: float | None = None,
        venue: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Any:
        return await self._do(
            calls.arbitrage(
                min_edge=min_edge,
                min_size=min_size,
                venue=venue,
                status=status,
                limit=limit,
                cursor=cursor,
            )
        )

    async def stats(self) -> schemas.Stats:
        return await self._do(calls.stats())

    async def legacy_price(
        self, condition_id: str, *, max_age_seconds: float | None = None
    ) -> schemas.LegacyPrice:
        return await self._do(calls.legacy_price(condition_id, max_age_seconds))

    async def legacy_prices(
        self,
        condition_ids: Sequence[str],
        *,
        tier: str | None = None,
        max_age_seconds: float | None = None,
    ) -> schemas.LegacyBatchPrices:
        return await self._do(calls.legacy_prices(condition_ids, tier, max_age_seconds))

    async def refresh(
        self, venue: str, *, scope: str = "quotes", ids: Sequence[Id] | None = None
    ) -> schemas.RefreshResult:
        return await self._do(calls.refresh(venue, scope, ids))

    async def matches(
        self,
        *,
        status: str | None = None,
        venue: str | None = None,
        min_confidence: float | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Any:
        return await self._do(
            calls.matches(
                status=status,
                venue=venue,
                min_confidence=min_confidence,
                limit=limit,
                cursor=cursor,
            )
        )

    async def market_matches(self, market_id: Id) -> Any:
        return await self._do(calls.market_matches(market_id))

    async def confirm_match(
        self, match_id: int, *, decided_by: str | None = None, note: str | None = None
    ) -> Any:
        return await self._do(calls.decide_match(match_id, "confirm", decided_by, note))

    async def reject_match(
        self, match_id: int, *, decided_by: str | None = None, note: str | None = None
    ) -> Any:
        return await self._do(calls.decide_match(match_id, "reject", decided_by, note))

    async def research(
        self,
        market_id: Id,
        *,
        type: str | None = None,
        since: When | None = None,
        until: When | None = None,
        limit: int | None = None,
    ) -> Any:
        """A market's research, newest first (expired research is not served)."""
        return await self._do(
            calls.research(market_id=market_id, type=type, since=since, until=until, limit=limit)
        )

    async def add_research(
        self,
        market_id: Id,
        research_data: str,
        *,
        research_type: str | None = None,
        sources: list[Any] | None = None,
        expires_at: When | None = None,
        ttl_seconds: float | None = None,
    ) -> Any:
        """Keep research gathered for a market (needs a key allowed to write research)."""
        return await self._do(
            calls.add_research(
                market_id=market_id,
                research_data=research_data,
                research_type=research_type,
                sources=sources,
                expires_at=expires_at,
                ttl_seconds=ttl_seconds,
            )
        )

    async def research_item(self, research_id: str) -> Any:
        """One piece of research (410 once it has expired)."""
        return await self._do(calls.research_item(research_id=research_id))

    async def analyses(
        self,
        market_id: Id,
        *,
        recommendation: str | None = None,
        since: When | None = None,
        until: When | None = None,
        archived: bool | None = None,
        limit: int | None = None,
    ) -> Any:
        """A market's analyses (archived=True reads the archive)."""
        return await self._do(
            calls.analyses(
                market_id=market_id,
                recommendation=recommendation,
                since=since,
                until=until,
                archived=archived,
                limit=limit,
            )
        )

    async def add_analysis(
        self,
        market_id: Id,
        query_text: str,
        *,
        analysis_result: dict[str, Any] | None = None,
        confidence_score: float | None = None,
        recommendation: str | None = None,
        processing_time_ms: int | None = None,
        llm_tokens_used: int | None = None,
        research_id: str | None = None,
        conclusion: dict[str, Any] | None = None,
    ) -> Any:
        """Record an analysis of a market (needs a key allowed to write research)."""
        return await self._do(
            calls.add_analysis(
                market_id=market_id,
                query_text=query_text,
                analysis_result=analysis_result,
                confidence_score=confidence_score,
                recommendation=recommendation,
                processing_time_ms=processing_time_ms,
                llm_tokens_used=llm_tokens_used,
                research_id=research_id,
                conclusion=conclusion,
            )
        )

    async def analysis(self, analysis_id: str) -> Any:
        """One analysis with its conclusion."""
        return await self._do(calls.analysis(analysis_id=analysis_id))

    async def add_conclusion(
        self,
        analysis_id: str,
        conclusion: str,
        *,
        sentiment: str | None = None,
        supporting_data: dict[str, Any] | None = None,
    ) -> Any:
        """The one conclusion of an analysis (a second is refused with 409)."""
        return await self._do(
            calls.add_conclusion(
                analysis_id=analysis_id,
                conclusion=conclusion,
                sentiment=sentiment,
                supporting_data=supporting_data,
            )
        )

    async def accounts(self) -> Any:
        """Every account with its level (admin key)."""
        return await self._do(calls.accounts())

    async def create_account(self, name: str, *, level: str | None = None) -> Any:
        """Create an account at a level (admin key)."""
        return await self._do(calls.create_account(name=name, level=level))

    async def set_account_level(self, name: str, level: str) -> Any:
        """Change an account's level (admin key)."""
        return await self._do(calls.set_account_level(name=name, level=level))

    async def keys(self, *, account: str | None = None, revoked: bool | None = None) -> Any:
        """API keys, never their secrets (admin key)."""
        return await self._do(calls.keys(account=account, revoked=revoked))

    async def create_key(
        self,
        account: str,
        *,
        name: str | None = None,
        level: str | None = None,
        expires_at: When | None = None,
    ) -> Any:
        """A new API key for an account; its secret is in this answer only (admin key)."""
        return await self._do(
            calls.create_key(account=account, name=name, level=level, expires_at=expires_at)
        )

    async def revoke_key(self, key: str) -> Any:
        """Revoke an API key (admin key)."""
        return await self._do(calls.revoke_key(key=key))

    async def audit(
        self,
        *,
        account: str | None = None,
        route: str | None = None,
        object: str | None = None,
        status: int | None = None,
        errors: bool | None = None,
        since: When | None = None,
        until: When | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> Any:
        """The audit log of writes and admin actions, newest first (admin key)."""
        return await self._do(
            calls.audit(
                account=account,
                route=route,
                object=object,
                status=status,
                errors=errors,
                since=since,
                until=until,
                before=before,
                limit=limit,
            )
        )

    async def database(self, *, top: int | None = None, long_seconds: float | None = None) -> Any:
        """The database's sizes, slow statements, connections and backups (admin key)."""
        return await self._do(calls.database(top=top, long_seconds=long_seconds))

    async def healthz(self) -> schemas.Health:
        return await self._do(calls.healthz())

    async def readyz(self) -> schemas.Health:
        return await self._do(calls.readyz())

    def subscribe(
        self, markets: Sequence[Id], *, reconnect_delay: float = 0.5, max_delay: float = 10.0
    ) -> AsyncIterator[BaseModel]:
        """The live feed of `markets`: `Quote`, `Trades`, `Resync`, ... messages
        (`predhub.api.asyncapi`), reconnecting with backoff; after a reconnect a
        `Resync` comes first, then each market's current state."""
        from predhub.client.feed import subscribe

        return subscribe(
            self.base_url,
            markets,
            self.headers,
            reconnect_delay=reconnect_delay,
            max_delay=max_delay,
        )


__all__ = ["AsyncClient", "Client", "HubClientError", "Page"]
