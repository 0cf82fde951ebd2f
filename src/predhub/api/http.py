"""HTTP that behaves like the best APIs: HEAD, validators, caching hints and compression.

One pure ASGI middleware, so every route gets the same behaviour without a
line in the route itself:

- `HEAD` wherever `GET` is allowed: the request is routed as a `GET` and the
  body is dropped (a streamed export is stopped after its headers).
- `ETag` (weak: it names the content, not the bytes on the wire, which differ
  per encoding) on every successful `GET` answered in one piece, and `304 Not
  Modified` when `If-None-Match` names it. A route may set its own `ETag`
  (the price routes hash the market and leave out the answer's age).
- `Cache-Control`: a route that knows its freshness sets it (a T3 price may be
  cached for what is left of its tier's maximum age); anything else is
  `no-cache`, i.e. revalidate with the `ETag`, which costs a 304 and no body.
- Compression of answers of at least `threshold` bytes with the best encoding
  the client accepts: brotli, then gzip; streamed answers (exports) are
  compressed as they stream. Parquet and other binary types are left alone.
- Fields an outer layer wants on every answer (`ANSWER_FIELDS` in the scope:
  the access control's `RateLimit-*`) are added where the answer starts, here
  and on the fast path, so that layer needs no wrapper of its own around `send`.

The cached price read (`fastpath`) answers before this middleware runs and
applies the same rules to its own small answers.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any, Protocol

import brotli
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_THRESHOLD = 1024  # smaller answers fit a packet or two; compressing buys nothing
_COMPRESSIBLE = (
    b"application/json",
    b"application/x-ndjson",
    b"application/schema+json",
    b"application/yaml",
    b"text/",
)
_FIELDS_MARK = b',"source":"'
HEAD_MARK = "predhub.head"  # set in the scope of a HEAD routed as a GET
ANSWER_FIELDS = "predhub.answer_fields"  # header fields to add to the answer, if any


class _Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class _Brotli:
    def __init__(self) -> None:
        self._c = brotli.Compressor(quality=4)

    def compress(self, data: bytes) -> bytes:
        return bytes(self._c.process(data))

    def flush(self) -> bytes:
        return bytes(self._c.finish())


def _compressor(encoding: bytes) -> _Compressor:
    if encoding == b"br":
        return _Brotli()
    return zlib.compressobj(6, zlib.DEFLATED, 31)  # type: ignore[return-value]


def compress(body: bytes, encoding: bytes) -> bytes:
    """`body` in `encoding` (b"br" or b"gzip"), all at once."""
    c = _compressor(encoding)
    return c.compress(body) + c.flush()


def choose_encoding(accept: bytes | None) -> bytes | None:
    """The encoding to answer with for an `Accept-Encoding` header: br, gzip or none."""
    if not accept:
        return None
    offered: dict[bytes, float] = {}
    for part in accept.lower().split(b","):
        name, _, params = part.strip().partition(b";")
        quality = 1.0
        params = params.strip()
        if params.startswith(b"q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        offered[name.strip()] = quality
    star = offered.get(b"*", 0.0)
    for encoding in (b"br", b"gzip"):
        if offered.get(encoding, star) > 0:
            return encoding
    return None


def weak_etag(body: bytes) -> bytes:
    return b'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'


def price_headers(body: bytes) -> tuple[bytes, bytes]:
    """`ETag` and `Cache-Control` of a rendered price answer.

    The tag hashes the market and leaves out the answer's own fields (its age
    changes every millisecond, its data does not); the answer may be cached for
    what is left of the tier's maximum age, and not at all when it is stale.
    """
    cut = body.rfind(_FIELDS_MARK)
    if cut < 0:
        return weak_etag(body), b"no-cache"
    etag = weak_etag(body[:cut])
    try:
        fields = orjson.loads(b"{" + body[cut + 1 :])
    except orjson.JSONDecodeError:
        return etag, b"no-cache"
    age = fields.get("age")
    max_age = fields.get("max_age")
    if fields.get("stale") or not isinstance(max_age, int | float):
        return etag, b"no-cache"
    left = int(max_age - (age if isinstance(age, int | float) else max_age))
    if left <= 0:
        return etag, b"no-cache"
    return etag, b"max-age=" + str(left).encode()


def etag_matches(if_none_match: bytes | None, etag: bytes) -> bool:
    """Whether an `If-None-Match` header names `etag` (weak comparison, as RFC 9110 says)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == b"*":
        return True
    bare = etag.removeprefix(b"W/")
    return any(
        tag.strip().removeprefix(b"W/") == bare for tag in if_none_match.split(b",") if tag.strip()
    )


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _without(headers: list[tuple[bytes, bytes]], *names: bytes) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k not in names]


class HttpMiddleware:
    """HEAD, ETag/304, Cache-Control and compression for every HTTP answer."""

    def __init__(self, app: ASGIApp, threshold: int = DEFAULT_THRESHOLD) -> None:
        self.app = app
        self.threshold = threshold

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            # Routed as a GET; a streamed export reads this mark and streams nothing.
            scope = dict(scope, method="GET")
            scope[HEAD_MARK] = True
        conditional = scope["method"] == "GET"
        request_headers = dict(scope.get("headers") or ())
        encoding = choose_encoding(request_headers.get(b"accept-encoding"))
        if_none_match = request_headers.get(b"if-none-match")
        state: dict[str, Any] = {"start": None, "compressor": None}
        fields: list[tuple[bytes, bytes]] = scope.get(ANSWER_FIELDS) or []

        async def wrapped(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                if fields:
                    message["headers"] = [*message.get("headers", ()), *fields]
                state["start"] = message
                return
            if kind != "http.response.body":
                await send(message)
                return
            start: Message | None = state["start"]
            if start is None:  # the body of an answer already started (streaming)
                await self._stream_body(message, state, send, head)
                return
            state["start"] = None
            if message.get("more_body", False):
                await self._stream_start(start, message, state, send, head, encoding)
            else:
                await self._whole(
                    start,
                    message.get("body", b""),
                    send,
                    head,
                    conditional,
                    encoding,
                    if_none_match,
                )

        await self.app(scope, receive, wrapped)

    async def _whole(
        self,
        start: Message,
        body: bytes,
        send: Send,
        head: bool,
        conditional: bool,
        encoding: bytes | None,
        if_none_match: bytes | None,
    ) -> None:
        headers: list[tuple[bytes, bytes]] = list(start.get("headers") or [])
        status: int = start["status"]
        if conditional and status == 200:
            etag = _header(headers, b"etag")
            if etag is None:
                etag = weak_etag(body)
                headers.append((b"etag", etag))
            if _header(headers, b"cache-control") is None:
                headers.append((b"cache-control", b"no-cache"))
            if etag_matches(if_none_match, etag):
                kept = _without(headers, b"content-length", b"content-type")
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
        content_type = _header(headers, b"content-type") or b""
        if (
            encoding is not None
            and len(body) >= self.threshold
            and content_type.startswith(_COMPRESSIBLE)
            and _header(headers, b"content-encoding") is None
        ):
            body = compress(body, encoding)
            headers = _without(headers, b"content-length")
            headers.append((b"content-length", str(len(body)).encode()))
            headers.append((b"content-encoding", encoding))
            headers.append((b"vary", b"Accept-Encoding"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})

    async def _stream_start(
        self,
        start: Message,
        first: Message,
        state: dict[str, Any],
        send: Send,
        head: bool,
        encoding: bytes | None,
    ) -> None:
        headers: list[tuple[bytes, bytes]] = list(start.get("headers") or [])
        content_type = _header(headers, b"content-type") or b""
        if (
            encoding is not None
            and not head
            and content_type.startswith(_COMPRESSIBLE)
            and _header(headers, b"content-encoding") is None
        ):
            state["compressor"] = _compressor(encoding)
            headers = _without(headers, b"content-length")
            headers.append((b"content-encoding", encoding))
            headers.append((b"vary", b"Accept-Encoding"))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        if head:
            state["compressor"] = None
            await send({"type": "http.response.body", "body": b"", "more_body": True})
        await self._stream_body(first, state, send, head)

    async def _stream_body(
        self, message: Message, state: dict[str, Any], send: Send, head: bool
    ) -> None:
        compressor: _Compressor | None = state["compressor"]
        more = message.get("more_body", False)
        if head:  # headers only: the rest of the stream is dropped
            if not more:
                await send({"type": "http.response.body", "body": b""})
            return
        if compressor is None:
            await send(message)
            return
        data = compressor.compress(message.get("body", b""))
        if not more:
            data += compressor.flush()
        if data or not more:
            await send({"type": "http.response.body", "body": data, "more_body": more})
