"""Helpers shared by the service tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

from predhub.service.notify import Listener
from predhub.service.refresh import IngestRefresher
from predhub.service.service import MarketDataService
from predhub.settings import Settings


def make_settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def running_service(
    pool: asyncpg.Pool, db_url: str, settings: Settings
) -> AsyncIterator[MarketDataService]:
    """The service on the real refresh path (ingestion against the venues `settings` names)."""
    listener = Listener(db_url)
    await listener.start()
    refresher = IngestRefresher(pool, settings)
    svc = MarketDataService(pool, settings, refresher=refresher, listener=listener)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()
        await refresher.close()
        await listener.stop()
