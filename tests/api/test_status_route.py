"""GET /v1/status: what `predhub status` prints, from the database, in one document."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import httpx
from api_support import ADMIN_KEY, make_settings
from fastapi import FastAPI

from predhub.api.app import create_app
from predhub.api.keys import issue_key
from predhub.api.schemas import HubStatus
from predhub.client import AsyncClient
from predhub.gold.refresh import GoldConfig, refresh
from predhub.ingest.quarantine import quarantine
from predhub.models import DataError
from predhub.scheduler import jobs
from predhub.service.accounts import AccountStore
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market
from predhub.settings import Settings
from predhub.venues.budget import book, budget_per_minute, reserve


async def _traces(conn: asyncpg.Connection) -> list[int]:
    """Markets folded into gold, requests booked, jobs in every state, two quarantined items."""
    now = datetime.now(UTC)
    ids = [
        await seed_market(conn, SeedMarket(native_id=f"m{i}", question=f"Market {i}?"))
        for i in range(3)
    ]
    await refresh(
        conn,
        GoldConfig(venues=("polymarket",), top_n={"polymarket": 5}, floors={"polymarket": 0}),
        now=now,
    )
    assert await reserve(conn, "kalshi", 4, cap=1000, now=now)
    await book(conn, "kalshi", now=now, errors=1)
    await jobs.enqueue(conn, [jobs.NewJob("kalshi", "quotes", f"k{i}") for i in range(3)], now=now)
    running = await jobs.claim(conn, "kalshi", "w", now=now, lease_seconds=60, limit=2)
    await jobs.fail(conn, running[0], "w", now=now, error="timed out", retry_in=5, max_attempts=1)
    await quarantine(
        conn,
        [DataError("opinion", "/market", f"x{i}", f"no outcomes ({i})") for i in range(2)],
    )
    return ids


async def test_status_reports_budget_jobs_errors_quarantine_freshness_and_size(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    await _traces(conn)
    answer = await client.get("/v1/status", headers={"X-API-Key": ADMIN_KEY})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["details_hidden"] is False
    venues = {v["venue"]: v for v in body["venues"]}
    kalshi, opinion, poly = venues["kalshi"], venues["opinion"], venues["polymarket"]
    assert kalshi["requests_last_minute"] == 4 and kalshi["errors_last_hour"] == 1
    assert kalshi["budget_per_minute"] == budget_per_minute("kalshi", Settings(_env_file=None))
    assert kalshi["jobs"] == {"queued": 1, "running": 1, "failed": 1}
    [error] = kalshi["errors"]
    assert (error["error"], error["status"], error["kind"]) == ("timed out", "failed", "quotes")
    assert opinion["quarantine"]["count"] == 2
    assert opinion["quarantine"]["latest"]["reason"].startswith("no outcomes")
    assert poly["freshness"]["markets"] == 3 and poly["freshness"]["open_markets"] == 3
    assert [p["priority"] for p in poly["priorities"]] == ["normal"]
    size = await conn.fetchval("SELECT pg_database_size(current_database())")
    assert 0.8 * size <= body["database"]["size_bytes"] <= 1.2 * size
    assert datetime.fromisoformat(body["as_of"]) <= datetime.now(UTC)
    # the size is measured at most once a minute, and says when
    assert datetime.fromisoformat(body["database"]["measured_at"]) <= datetime.fromisoformat(
        body["as_of"]
    )
    again = (await client.get("/v1/status", headers={"X-API-Key": ADMIN_KEY})).json()
    assert again["database"] == body["database"]


async def test_the_client_types_the_status(app: FastAPI, conn: asyncpg.Connection) -> None:
    await _traces(conn)
    transport = httpx.ASGITransport(app=app)
    async with AsyncClient("http://hub", transport=transport) as hub:
        status = await hub.status()
    assert isinstance(status, HubStatus)
    assert {v.venue for v in status.venues} >= {"polymarket", "kalshi", "opinion"}


def _texts(body: dict[str, object]) -> list[object]:
    """Every job error and quarantine reason of a status document."""
    venues = body["venues"]
    assert isinstance(venues, list)
    errors = [e["error"] for v in venues for e in v["errors"]]
    reasons = [v["quarantine"]["latest"]["reason"] for v in venues if v["quarantine"]["latest"]]
    return errors + reasons


async def test_error_texts_are_for_admins_once_the_hub_has_keys(
    db_url: str, refresher: WritingRefresher, conn: asyncpg.Connection
) -> None:
    """A hub without keys is a private one: its status is shown in full to anyone. Once a
    key exists, error and quarantine texts (exception messages, venue answers) need an
    admin key; everything else stays public, so the Status page still draws."""
    await _traces(conn)
    app = create_app(make_settings(admin_api_key=None), database_url=db_url, refresher=refresher)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            open_hub = (await c.get("/v1/status")).json()
            assert open_hub["details_hidden"] is False
            assert "timed out" in _texts(open_hub) and len(_texts(open_hub)) == 2

            store = AccountStore(conn)
            admin, _ = await issue_key(store, account="root", level="admin")
            vip, _ = await issue_key(store, account="ann", level="vip")
            for headers in ({}, {"X-API-Key": vip}):
                hidden = await c.get("/v1/status", headers=headers)
                assert hidden.status_code == 200, hidden.text
                body = hidden.json()
                assert body["details_hidden"] is True and _texts(body) == [None, None]
                kalshi = next(v for v in body["venues"] if v["venue"] == "kalshi")
                assert kalshi["jobs"] == {"queued": 1, "running": 1, "failed": 1}
                assert kalshi["errors"][0]["kind"] == "quotes"
                HubStatus.model_validate(body)
            shown = (await c.get("/v1/status", headers={"X-API-Key": admin})).json()
            assert shown["details_hidden"] is False and "timed out" in _texts(shown)


async def test_readiness_names_no_host_when_the_database_is_gone(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """The open probe says the database is unavailable and of what kind, not its message."""
    await app.state.api.service.pool.close()
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    kind = ready.json()["details"]["database"]
    assert kind.isidentifier() and "127.0.0.1" not in ready.text
