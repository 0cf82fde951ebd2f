"""API fixtures: the real app on a fresh database, over ASGI or a live uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from api_support import make_settings, serve_live
from fastapi import FastAPI

from predhub.api.app import create_app
from predhub.service.testing import WritingRefresher


@pytest.fixture
def refresher(pool: asyncpg.Pool) -> WritingRefresher:
    return WritingRefresher(pool)


@pytest.fixture
async def app(db_url: str, refresher: WritingRefresher) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(), database_url=db_url, refresher=refresher)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def live_url(db_url: str, refresher: WritingRefresher) -> AsyncIterator[str]:
    """The app served by uvicorn on a free port, in this event loop."""
    application = create_app(make_settings(), database_url=db_url, refresher=refresher)
    async with serve_live(application) as url:
        yield url
