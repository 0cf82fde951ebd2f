"""A tiny scripted HTTP server (real sockets, uvicorn) for the HTTP-layer tests.

Each path gets a script: a list of `Reply`s served in order (the last one
repeats). A reply can carry a status, headers, a JSON or text body, a delay
(to provoke client timeouts) or `drop=True` (headers sent, then the
connection is cut). Every request is recorded for assertions.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import uvicorn
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from predhub.settings import Settings


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float


class ScriptedServer:
    def __init__(self) -> None:
        self.scripts: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path] = list(replies)

    def reset(self) -> None:
        self.scripts.clear()
        self.seen.clear()

    def hits(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path == path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        query: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            query.setdefault(k, []).append(v)
        path = request.url.path
        self.seen.append(
            Seen(request.method, path, query, dict(request.headers), body, time.monotonic())
        )
        replies = self.scripts.get(path) or [Reply(404, {"error": "not scripted"})]
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.text is not None:
            payload, ctype = reply.text.encode(), b"text/html"
        else:
            payload, ctype = orjson.dumps(reply.json), b"application/json"
        headers = [(b"content-type", ctype), (b"content-length", str(len(payload)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if reply.drop:
            raise ConnectionAbortedError("scripted drop")
        await send({"type": "http.response.body", "body": payload})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def scripted_server_session() -> Iterator[ScriptedServer]:
    app = ScriptedServer()
    app.port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=app.port, log_level="critical", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("scripted server did not start")
        time.sleep(0.01)
    yield app
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def scripted(scripted_server_session: ScriptedServer) -> Iterator[ScriptedServer]:
    scripted_server_session.reset()
    yield scripted_server_session
    scripted_server_session.reset()


@pytest.fixture
def fast_settings() -> Settings:
    """Settings with instant backoff and short timeouts, for fault tests."""
    return Settings(
        http_timeout_seconds=0.3,
        http_max_retries=3,
        http_backoff_base_seconds=0.001,
        http_backoff_max_seconds=2.0,
        breaker_failure_threshold=3,
        breaker_reset_seconds=0.3,
    )
