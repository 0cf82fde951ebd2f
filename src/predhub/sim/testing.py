"""Run the simulator in-process for tests and benchmarks.

`running_simulator(config)` serves a world on a free loopback port from a
background thread and yields a handle with the base URL, the adapter
environment, a `Settings` pointing at it, and helpers for the admin endpoints.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from predhub.settings import Settings
from predhub.sim.app import build_app
from predhub.sim.config import FaultRule, SimConfig
from predhub.sim.runtime import Sim
from predhub.sim.urls import accept_credentials, adapter_env


class SimHandle:
    """A running simulator: where it is, and how to steer and inspect it."""

    def __init__(self, sim: Sim, host: str, port: int, credentials: Path | None = None) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self.base_url = f"http://{host}:{port}"
        # test credentials (signing venues) the simulator accepts, in `env` and `settings()`
        self.env = adapter_env(host, port, credentials)
        self._http = httpx.Client(base_url=self.base_url, timeout=120)  # advancing days is heavy

    def url(self, name: str) -> str:
        """The base URL of one venue API by its setting name, e.g. "<PREFIX>_URL"."""
        return self.env[name]

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {k.lower(): v for k, v in self.env.items()}
        values.update(overrides)
        return Settings(**values)

    def _admin(self, method: str, path: str, **kw: Any) -> Any:
        r = self._http.request(method, "/admin" + path, **kw)
        r.raise_for_status()
        return r.json()

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("GET", "/stats")
        return result

    def count(self, venue: str, endpoint: str | None = None, status: int | None = None) -> int:
        """Requests seen for a venue (and endpoint template, and status)."""
        return sum(
            r["count"]
            for r in self.stats()["requests"]
            if r["venue"] == venue
            and (endpoint is None or r["endpoint"] == endpoint)
            and (status is None or r["status"] == status)
        )

    def reset_stats(self) -> None:
        self._admin("POST", "/stats/reset")

    def truth(
        self, venue: str | None = None, market: str | None = None, trades: bool = True
    ) -> Any:
        params: dict[str, str] = {"trades": "true" if trades else "false"}
        if venue:
            params["venue"] = venue
        if market:
            params["market"] = market
        return self._admin("GET", "/truth", params=params)

    def matches(self) -> Any:
        return self._admin("GET", "/matches")

    def world(self) -> Any:
        return self._admin("GET", "/world")

    def set_faults(self, *rules: FaultRule | dict[str, Any], replace: bool = True) -> Any:
        items = [r.model_dump() if isinstance(r, FaultRule) else r for r in rules]
        return self._admin("POST", "/faults", json={"faults": items, "replace": replace})

    def clear_faults(self) -> None:
        self._admin("DELETE", "/faults")

    def advance(self, seconds: float) -> Any:
        return self._admin("POST", "/advance", params={"seconds": str(seconds)})

    def configure(self, **values: Any) -> Any:
        """latency_scale=..., rate_limits=..., speed=..."""
        return self._admin("POST", "/config", json=values)

    def close(self) -> None:
        self._http.close()


def _free_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def make_server(
    sim: Sim, host: str, port: int, log_level: str = "warning"
) -> tuple[uvicorn.Server, socket.socket]:
    sock = _free_socket(host, port)
    config = uvicorn.Config(
        build_app(sim),
        log_level=log_level,
        http="h11",
        ws="websockets-sansio",
        lifespan="on",
        access_log=False,
        timeout_keep_alive=30,
        backlog=4096,
    )
    return uvicorn.Server(config), sock


@contextlib.contextmanager
def running_simulator(
    config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[SimHandle]:
    """Serve a simulated world on loopback for the duration of the block."""
    sim = Sim(config or SimConfig.small())
    credentials = Path(tempfile.mkdtemp(prefix="predhub-sim-keys-"))
    accept_credentials(sim, credentials)
    server, sock = make_server(sim, host, port)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="predhub-sim", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.005)
    handle = SimHandle(sim, host, sock.getsockname()[1], credentials)
    try:
        yield handle
    finally:
        handle.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        sim.close()
        shutil.rmtree(credentials, ignore_errors=True)
