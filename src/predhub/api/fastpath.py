"""The cached single-market price read, answered before FastAPI's routing.

`GET /v1/markets/{market_id}/price` is the hottest request of the hub, and
when the in-process cache holds a fresh enough row the answer is a dictionary
lookup and a byte join. Routing, parameter validation and dependency solving
would cost more than that, so this middleware recognises the path by hand and
asks the service for a cached answer. Anything it is not sure about (another
query parameter, a value that needs validating, a cache miss, a stale row)
goes on to the documented FastAPI route, which stays the single source of the
behaviour, the error shapes and the OpenAPI schema. Its answers carry the same
`ETag` and `Cache-Control` as the full route's, and answer `If-None-Match`;
a `HEAD` gets the same headers and no body, as it would from the full route;
the fields an outer layer asked for (`ANSWER_FIELDS`: the key's `RateLimit-*`)
are added as `HttpMiddleware` adds them to the full route's answers.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from predhub.api.http import (
    ANSWER_FIELDS,
    DEFAULT_THRESHOLD,
    choose_encoding,
    compress,
    etag_matches,
    price_headers,
)

PRICE_TEMPLATE = "/v1/markets/{market_id}/price"
_PREFIX = "/v1/markets/"
_SUFFIX = "/price"
# Values the route's own validation would accept unchanged; anything else falls through.
_TIER = re.compile(r"[A-Za-z0-9_]{1,32}")
_MAX_AGE = re.compile(r"\d{1,9}(?:\.\d{1,6})?")
# HEAD is a GET without the body (see `http`): a monitor's `curl -I` is a cache hit too.
_METHODS = ("GET", "HEAD")


def _conditions(scope: Scope) -> tuple[bytes | None, bytes | None]:
    """The request's `If-None-Match` and `Accept-Encoding` headers."""
    if_none_match = accept_encoding = None
    for name, value in scope.get("headers") or ():
        if name == b"if-none-match":
            if_none_match = bytes(value)
        elif name == b"accept-encoding":
            accept_encoding = bytes(value)
    return if_none_match, accept_encoding


def _query(raw: bytes) -> tuple[str | None, float | None] | None:
    """`tier` and `max_age` from a plain query string, or None to take the full path."""
    tier: str | None = None
    max_age: float | None = None
    if not raw:
        return tier, max_age
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    for part in text.split("&"):
        name, sep, value = part.partition("=")
        if not sep:
            return None
        if name == "tier" and tier is None and _TIER.fullmatch(value):
            tier = value
        elif name == "max_age" and max_age is None and _MAX_AGE.fullmatch(value):
            max_age = float(value)
            if max_age > 1e9:
                return None
        else:
            return None
    return tier, max_age


class CachedPriceMiddleware:
    """Answers cache hits of the price route; passes every other request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _METHODS:
            body = self._answer(scope)
            if body is not None:
                # The same validators and caching hints as the full route (see `http`).
                etag, cache_control = price_headers(body)
                status = 200
                headers = [(b"etag", etag), (b"cache-control", cache_control)]
                if_none_match, accept_encoding = _conditions(scope)
                if etag_matches(if_none_match, etag):
                    status, body = 304, b""
                else:
                    encoding = (
                        choose_encoding(accept_encoding) if len(body) >= DEFAULT_THRESHOLD else None
                    )
                    if encoding is not None:
                        body = compress(body, encoding)
                        headers.append((b"content-encoding", encoding))
                        headers.append((b"vary", b"Accept-Encoding"))
                    headers.append((b"content-length", str(len(body)).encode()))
                    headers.append((b"content-type", b"application/json"))
                fields = scope.get(ANSWER_FIELDS)
                if fields:
                    headers.extend(fields)
                if scope["method"] == "HEAD":  # the GET's headers, without its body
                    body = b""
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> bytes | None:
        path: str = scope["path"]
        if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
            return None
        key = path[len(_PREFIX) : -len(_SUFFIX)]
        if not key or "/" in key:
            return None
        params = _query(scope.get("query_string") or b"")
        if params is None:
            return None
        app = scope.get("app")
        state = getattr(getattr(app, "state", None), "api", None)
        if state is None:
            return None
        body: bytes | None = state.service.cached_price(key, *params)
        if body is not None:
            scope["route"] = self._price_route(app)  # for the metrics' route label
        return body

    def _price_route(self, app: Any) -> Any:
        """The price route, for the metrics' label: found once (FastAPI keeps an included
        router's routes behind one entry of the app's list), then remembered."""
        if self._route is None:
            self._route = _find_route(app.router.routes, PRICE_TEMPLATE) or False
        return self._route or None


def _find_route(routes: Any, template: str) -> Any:
    for route in routes:
        if getattr(route, "path", None) == template:
            return route
        included = getattr(route, "original_router", None)
        found = _find_route(included.routes, template) if included is not None else None
        if found is not None:
            return found
    return None
