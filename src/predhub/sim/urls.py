"""Where each simulated venue lives under the simulator's one HTTP server.

Every venue is mounted under its own path prefixes (from its plug-in) so that
one port serves the whole world; the adapters only ever see a base URL,
exactly as with the real venues.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from predhub.sim.plugins import plugins

if TYPE_CHECKING:
    from predhub.sim.runtime import Sim


def prefixes() -> dict[str, str]:
    """{setting name: path prefix} of every venue's HTTP APIs."""
    return {name: path for p in plugins() for name, path in p.prefixes.items()}


def ws_prefixes() -> dict[str, str]:
    """{setting name: path} of every venue's WebSocket endpoints."""
    return {name: path for p in plugins() for name, path in p.ws_prefixes.items()}


def adapter_env(host: str, port: int, credentials: Path | None = None) -> dict[str, str]:
    """Settings that point predhub's adapters at a simulator on host:port.

    With a `credentials` directory, venues that sign requests get test
    credentials kept there (made on first use), which a simulator started
    with the same directory accepts (`accept_credentials`).
    """
    env = {name: f"http://{host}:{port}{path}" for name, path in prefixes().items()}
    env.update({name: f"ws://{host}:{port}{path}" for name, path in ws_prefixes().items()})
    for p in plugins():
        env.update(p.extra_env)
        if credentials is not None and p.credentials is not None:
            env.update(p.credentials(credentials))
    return env


def accept_credentials(sim: Sim, credentials: Path) -> None:
    """Have the simulator accept the test credentials kept in `credentials`."""
    for p in plugins():
        if p.accept_credentials is not None:
            p.accept_credentials(sim, credentials)
