"""`Client` and `AsyncClient`: the API's routes as typed methods over httpx.

Both take any market id form, tiers and `max_age`, follow cursors
(`iter_markets`, `iter_trades`, ...), retry reads that failed for a passing
reason (connection errors, 429, 502-504) with exponential backoff and jitter,
waiting what `Retry-After` says when the hub says it, and raise one exception
per kind of answer (`predhub.client.errors`).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx
import orjson
from pydantic import BaseModel

from predhub.client import calls
from predhub.client.calls import Call, Id, Page
from predhub.client.errors import (
    RETRY_STATUSES,
    HubClientError,
    HubUnreachable,
    error_for,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")
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


def _sign(method: Any, route: Callable[..., Any], name: str) -> None:
    """Give `method` the route's name, docstring and parameters (with `self` first),
    so that help(), editors and the drift test read the route's own signature."""
    functools.update_wrapper(method, route)
    method.__name__ = method.__qualname__ = name
    method.__module__ = __name__
    signature = inspect.signature(route)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(
        parameters=[self_param, *signature.parameters.values()],
        return_annotation=inspect.Signature.empty,
    )


def _start(kwargs: dict[str, Any]) -> str | None:
    """The cursor an iterator was asked to start from (the first page when None)."""
    cursor = kwargs.get("cursor")
    return cursor if isinstance(cursor, str) else None


def _sync(route: Callable[P, Call[T]]) -> Callable[Concatenate[Client, P], T]:
    """A `Client` method that sends the route's call and returns its parsed answer."""

    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._do(route(*args, **kwargs))

    _sign(method, route, route.__name__)
    return method


def _sync_pages(route: Callable[P, Call[Page[M]]]) -> Callable[Concatenate[Client, P], Iterator[M]]:
    """A `Client` iterator over every item of a list route, page after page from `cursor`."""

    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[M]:
        return self._pages(functools.partial(route, *args, **kwargs), _start(kwargs))

    _sign(method, route, f"iter_{route.__name__}")
    return method


def _async(
    route: Callable[P, Call[T]],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    """An `AsyncClient` method: the route's call, awaited."""

    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._do(route(*args, **kwargs))

    _sign(method, route, route.__name__)
    return method


def _async_pages(
    route: Callable[P, Call[Page[M]]],
) -> Callable[Concatenate[AsyncClient, P], AsyncIterator[M]]:
    """An `AsyncClient` async iterator over every item of a list route, from `cursor`."""

    def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[M]:
        return self._pages(functools.partial(route, *args, **kwargs), _start(kwargs))

    _sign(method, route, f"iter_{route.__name__}")
    return method


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

    def _pages(self, list_call: Callable[..., Call[Page[M]]], cursor: str | None) -> Iterator[M]:
        while True:
            page = self._do(list_call(cursor=cursor))
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    # Every route, as `calls` declares it: the parameters, their names and types are the
    # route's own, so the two clients cannot drift from each other or from the API.
    markets = _sync(calls.markets)
    iter_markets = _sync_pages(calls.markets)
    market = _sync(calls.market)
    outcomes = _sync(calls.outcomes)
    quote = _sync(calls.quote)
    price = _sync(calls.price)
    live_price = _sync(calls.live_price)
    prices = _sync(calls.prices)
    history = _sync(calls.history)
    trades = _sync(calls.trades)
    iter_trades = _sync_pages(calls.trades)
    book = _sync(calls.book)
    price_at = _sync(calls.price_at)
    events = _sync(calls.events)
    iter_events = _sync_pages(calls.events)
    event = _sync(calls.event)
    search = _sync(calls.search)
    top = _sync(calls.top)
    venues = _sync(calls.venues)
    movers = _sync(calls.movers)
    trending = _sync(calls.trending)
    arbitrage = _sync(calls.arbitrage)
    stats = _sync(calls.stats)
    legacy_price = _sync(calls.legacy_price)
    legacy_prices = _sync(calls.legacy_prices)
    refresh = _sync(calls.refresh)
    matches = _sync(calls.matches)
    market_matches = _sync(calls.market_matches)
    confirm_match = _sync(calls.confirm_match)
    reject_match = _sync(calls.reject_match)
    research = _sync(calls.research)
    add_research = _sync(calls.add_research)
    research_item = _sync(calls.research_item)
    analyses = _sync(calls.analyses)
    add_analysis = _sync(calls.add_analysis)
    analysis = _sync(calls.analysis)
    add_conclusion = _sync(calls.add_conclusion)
    accounts = _sync(calls.accounts)
    create_account = _sync(calls.create_account)
    set_account_level = _sync(calls.set_account_level)
    keys = _sync(calls.keys)
    create_key = _sync(calls.create_key)
    revoke_key = _sync(calls.revoke_key)
    audit = _sync(calls.audit)
    database = _sync(calls.database)
    status = _sync(calls.status)
    healthz = _sync(calls.healthz)
    readyz = _sync(calls.readyz)

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

    async def _pages(
        self, list_call: Callable[..., Call[Page[M]]], cursor: str | None
    ) -> AsyncIterator[M]:
        while True:
            page = await self._do(list_call(cursor=cursor))
            for item in page.data:
                yield item
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    # Every route, as `calls` declares it: the parameters, their names and types are the
    # route's own, so the two clients cannot drift from each other or from the API.
    markets = _async(calls.markets)
    iter_markets = _async_pages(calls.markets)
    market = _async(calls.market)
    outcomes = _async(calls.outcomes)
    quote = _async(calls.quote)
    price = _async(calls.price)
    live_price = _async(calls.live_price)
    prices = _async(calls.prices)
    history = _async(calls.history)
    trades = _async(calls.trades)
    iter_trades = _async_pages(calls.trades)
    book = _async(calls.book)
    price_at = _async(calls.price_at)
    events = _async(calls.events)
    iter_events = _async_pages(calls.events)
    event = _async(calls.event)
    search = _async(calls.search)
    top = _async(calls.top)
    venues = _async(calls.venues)
    movers = _async(calls.movers)
    trending = _async(calls.trending)
    arbitrage = _async(calls.arbitrage)
    stats = _async(calls.stats)
    legacy_price = _async(calls.legacy_price)
    legacy_prices = _async(calls.legacy_prices)
    refresh = _async(calls.refresh)
    matches = _async(calls.matches)
    market_matches = _async(calls.market_matches)
    confirm_match = _async(calls.confirm_match)
    reject_match = _async(calls.reject_match)
    research = _async(calls.research)
    add_research = _async(calls.add_research)
    research_item = _async(calls.research_item)
    analyses = _async(calls.analyses)
    add_analysis = _async(calls.add_analysis)
    analysis = _async(calls.analysis)
    add_conclusion = _async(calls.add_conclusion)
    accounts = _async(calls.accounts)
    create_account = _async(calls.create_account)
    set_account_level = _async(calls.set_account_level)
    keys = _async(calls.keys)
    create_key = _async(calls.create_key)
    revoke_key = _async(calls.revoke_key)
    audit = _async(calls.audit)
    database = _async(calls.database)
    status = _async(calls.status)
    healthz = _async(calls.healthz)
    readyz = _async(calls.readyz)

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
