"""Checks every request passes before routing or body parsing, as pure ASGI middleware.

They run ahead of FastAPI, so what they refuse never reaches a parser: NUL
characters, oversized headers (431) and bodies (413, counted as they arrive, so
a chunked body without Content-Length is bounded too). Keys and levels are
checked by `predhub.api.access`, also before the body is validated, so an
anonymous caller learns nothing about what a route expects. Refusals use the
API's one error shape.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from predhub.api.errors import BodyTooLarge
from predhub.service.ids import ascii_int

ADMIN_PREFIX = "/v1/admin"


class RequestLimitMiddleware:
    """Refuse NUL characters (400), large headers (431) and large bodies (413)."""

    def __init__(self, app: ASGIApp, max_body: int, max_headers: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
        size = sum(len(name) + len(value) for name, value in headers)
        if size > self.max_headers:
            message = f"request headers are at most {self.max_headers} bytes in all"
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1009, "reason": message})
            else:
                await reject(
                    send, 431, "headers_too_large", message, limit=self.max_headers, size=size
                )
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string") or b""
        if b"%00" in query or "\x00" in scope.get("path", ""):
            await reject(send, 400, "bad_request", "NUL characters are not allowed in a request")
            return
        declared = dict(headers).get(b"content-length")
        if declared is not None:
            length = ascii_int(declared, max_digits=19)
            if length is None:
                await reject(send, 400, "bad_request", "Content-Length is not a number")
                return
            if length > self.max_body:
                await _too_large(send, self.max_body)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await _too_large(send, self.max_body)


async def _too_large(send: Send, limit: int) -> None:
    await reject(
        send, 413, "payload_too_large", f"request bodies are at most {limit} bytes", limit=limit
    )


async def reject(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    **details: Any,
) -> None:
    """Answer with the API's error shape without going through FastAPI."""
    body = orjson.dumps({"error": {"code": code, "message": message, "details": details}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
