"""The simulator shrugs off a client that leaves mid-request, as the demo's worker does on stop."""

from __future__ import annotations

from typing import Any

from predhub.sim.app import build_app
from predhub.sim.config import SimConfig
from predhub.sim.runtime import Sim


async def test_a_client_gone_before_its_body_arrived_is_no_error() -> None:
    sim = Sim(SimConfig.small())
    try:
        app = build_app(sim)
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/polymarket/clob/midpoints",
            "raw_path": b"/polymarket/clob/midpoints",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8900),
            "state": {},
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.disconnect"}  # the worker stopped mid-request

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)  # raised ClientDisconnect, which uvicorn printed
        assert sent[0]["type"] == "http.response.start"
        assert sent[0]["status"] == 499
    finally:
        sim.close()
