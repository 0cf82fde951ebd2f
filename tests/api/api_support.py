"""Helpers shared by the API tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import socket

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
