"""Helpers shared by the API tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import AsyncIterator

import httpx
import uvicorn
from fastapi import FastAPI

from predhub.settings import Settings

ADMIN_KEY = "test-admin-key"


def make_settings(**overrides: object) -> Settings:
    base: dict[str, object] = {"admin_api_key": ADMIN_KEY}
    base.update(overrides)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_ready(base: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Poll `base`/readyz until it answers 200; fail if `proc` exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, "the API exited"
        time.sleep(0.2)
    raise AssertionError("the API did not start")


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    """`response` is a `status` in the API's one error shape (with `code`, when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body


@contextlib.asynccontextmanager
async def serve_live(application: FastAPI) -> AsyncIterator[str]:
    """`application` served by uvicorn (httptools, as `predhub serve`) on a free port."""
    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", http="httptools"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
