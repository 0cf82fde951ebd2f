"""Service fixtures: a real database, and `WritingRefresher` (ingestion's side of the
refresh contract, writing real rows) that counts the batch calls it is asked for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from service_support import make_settings

from predhub.service.notify import Listener
from predhub.service.service import MarketDataService
from predhub.service.testing import WritingRefresher
from predhub.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def refresher(pool: asyncpg.Pool) -> WritingRefresher:
    return WritingRefresher(pool)


@pytest.fixture
async def listener(db_url: str) -> AsyncIterator[Listener]:
    lst = Listener(db_url)
    await lst.start()
    try:
        yield lst
    finally:
        await lst.stop()


@pytest.fixture
async def service(
    pool: asyncpg.Pool, settings: Settings, refresher: WritingRefresher, listener: Listener
) -> AsyncIterator[MarketDataService]:
    svc = MarketDataService(pool, settings, refresher=refresher, listener=listener)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()
