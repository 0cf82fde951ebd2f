"""Helpers shared by the service tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

from predhub.settings import Settings


def make_settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
