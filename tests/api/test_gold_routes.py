"""The gold routes: answers from the refreshed tables, stamped, and bad windows refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from api_support import make_settings
from fastapi import FastAPI

from predhub.api.schemas import Movers, Trending, VenueTotals
from predhub.client import AsyncClient
from predhub.gold.refresh import GoldConfig, refresh
from predhub.scheduler.maintenance import gold_config
from predhub.service.testing import SeedMarket, seed_market

NOW = datetime.now(UTC)


async def _markets(conn: asyncpg.Connection) -> dict[str, int]:
    return {
        "btc": await seed_market(
            conn,
            SeedMarket(
                native_id="btc",
                question="Bitcoin above 100k?",
                volume_24h=50_000,
                event_native_id="ev-btc",
                event_title="Bitcoin price",
            ),
        ),
        "fed": await seed_market(
            conn,
            SeedMarket(
                venue="kalshi",
                native_id="FED",
                question="Fed cuts?",
                category="Economics",
                volume_24h=20_000,
            ),
        ),
        "eth": await seed_market(
            conn,
            SeedMarket(native_id="eth", question="Ethereum above 5k?", volume_24h=500),
        ),
    }


async def _seed(conn: asyncpg.Connection) -> dict[str, int]:
    ids = await _markets(conn)
    config = GoldConfig(
        venues=("polymarket", "kalshi"),
        top_n={"polymarket": 5, "kalshi": 5},
        floors={"polymarket": 30_000.0, "kalshi": 10_000.0},
    )
    await refresh(conn, config, now=NOW)
    return ids


async def test_top_stats_and_events_read_gold(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ids = await _seed(conn)
    top = (await client.get("/v1/top")).json()
    assert [m["id"] for m in top["venues"]["polymarket"]] == [ids["btc"]]  # eth under the floor
    assert [m["id"] for m in top["overall"]] == [ids["btc"], ids["fed"]]
    assert top["as_of"] and top["refreshed_at"]
    stats = (await client.get("/v1/stats")).json()
    poly = next(v for v in stats["venues"] if v["venue"] == "polymarket")
    assert poly["markets"] == 2 and poly["volume_24h"] == 50_500
    assert {c["category"] for c in stats["categories"]} >= {"Crypto", "Economics"}
    assert stats["as_of"] and stats["refreshed_at"]
    crypto = (await client.get("/v1/markets", params={"category": "crypto"})).json()
    assert {m["id"] for m in crypto["data"]} == {ids["btc"], ids["eth"]}
    event_id = await conn.fetchval("SELECT event_id FROM silver.markets WHERE id = $1", ids["btc"])
    event = (await client.get(f"/v1/events/{event_id}")).json()
    assert event["aggregates"]["markets"] == 1 and event["aggregates"]["volume_24h"] == 50_000
    assert event["as_of"] and event["refreshed_at"]


def _ranks(top: dict[str, Any]) -> dict[str, list[int]]:
    ranked = {venue: [m["id"] for m in docs] for venue, docs in top["venues"].items()}
    return {**ranked, "*": [m["id"] for m in top["overall"]]}


async def test_top_ranks_silver_until_the_first_gold_refresh(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    """A new hub's first minute: no gold refresh has ranked anything yet, and /v1/top
    answers the ranking the refresh will make (same floors, limits and order)."""
    ids = await _markets(conn)
    before = (await client.get("/v1/top")).json()
    one = (await client.get("/v1/top", params={"n": 1, "venue": "kalshi"})).json()
    high = (await client.get("/v1/top", params={"min_volume": 40_000})).json()
    assert before["overall"] and before["as_of"] and before["refreshed_at"] is None
    await refresh(conn, gold_config(make_settings()), now=NOW)
    after = (await client.get("/v1/top")).json()
    assert _ranks(before) == _ranks(after)
    assert _ranks(after)["*"] == [ids["btc"], ids["fed"]]  # eth is under the floor
    assert _ranks(one) == _ranks((await client.get("/v1/top?n=1&venue=kalshi")).json())
    assert _ranks(high) == _ranks((await client.get("/v1/top?min_volume=40000")).json())


async def test_top_answers_twenty_per_list_unless_asked_and_at_most_a_hundred(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    """A bare /v1/top is a page's worth, not every venue's whole ranking; past the
    maximum a 422 names `n` and the limit."""
    ranked = [
        await seed_market(
            conn, SeedMarket(native_id=f"m{i}", question=f"Market {i}?", volume_24h=90_000 - i)
        )
        for i in range(25)
    ]
    before = (await client.get("/v1/top")).json()  # silver's ranking, before gold's
    await refresh(conn, gold_config(make_settings()), now=NOW)
    bare = (await client.get("/v1/top")).json()
    assert _ranks(bare) == _ranks(before)
    assert [m["id"] for m in bare["venues"]["polymarket"]] == ranked[:20]
    assert [m["id"] for m in bare["overall"]] == ranked[:20]
    more = (await client.get("/v1/top", params={"n": 25})).json()
    assert [m["id"] for m in more["overall"]] == ranked
    past = await client.get("/v1/top", params={"n": 101})
    assert past.status_code == 422
    assert "n" in past.json()["error"]["message"] and "100" in past.json()["error"]["message"]


async def test_movers_window_is_checked(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    await _seed(conn)
    bad = await client.get("/v1/movers", params={"window": "2h"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_window"
    assert bad.json()["error"]["details"]["allowed"] == ["1h", "24h", "7d"]
    ok = (await client.get("/v1/movers", params={"window": "1h"})).json()
    assert ok["window"] == "1h" and ok["data"] == []
    trending = await client.get("/v1/trending")
    assert trending.status_code == 200 and trending.json()["data"] == []


async def test_the_client_types_the_gold_answers(app: FastAPI, conn: asyncpg.Connection) -> None:
    ids = await _seed(conn)
    transport = httpx.ASGITransport(app=app)
    async with AsyncClient("http://hub", transport=transport) as hub:
        stats = await hub.stats()
        poly = next(v for v in stats.venues if v.venue == "polymarket")
        assert isinstance(poly, VenueTotals) and poly.markets == 2 and poly.volume_24h == 50_500
        assert {c.category for c in stats.categories} >= {"Crypto", "Economics"}
        movers = await hub.movers(window="1h", limit=5)
        assert isinstance(movers, Movers) and movers.window == "1h"
        assert isinstance(await hub.trending(limit=5), Trending)
        top = await hub.top(venue="polymarket", n=5)
        assert [m.id for m in top.venues["polymarket"]] == [ids["btc"]]
