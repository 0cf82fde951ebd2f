"""GET /v1/arbitrage and the WebSocket arbitrage topic, from opportunities the gold refresh priced."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import websockets

from predhub.gold.arbitrage import ArbitrageConfig
from predhub.gold.refresh import GoldConfig, refresh
from predhub.service.testing import SeedMarket, seed_market

CONFIG = GoldConfig(
    venues=("polymarket", "kalshi"),
    top_n={"polymarket": 5, "kalshi": 5},
    floors={"polymarket": 0.0, "kalshi": 0.0},
    arbitrage=ArbitrageConfig(),
)


async def _book(conn: asyncpg.Connection, market_id: int, idx: int, asks: str) -> None:
    await conn.execute(
        "INSERT INTO silver.order_book_snapshots (market_id, outcome_id, observed_at, fetched_at,"
        " bids, asks) SELECT $1, id, now(), now(), '[]', $3::jsonb FROM silver.outcomes"
        " WHERE market_id = $1 AND idx = $2",
        market_id,
        idx,
        asks,
    )


async def _pair(conn: asyncpg.Connection, n: int, yes_ask: str, no_ask: str) -> int:
    """Two markets matched as the same question, with YES and NO asks that cover it."""
    a = await seed_market(conn, SeedMarket(native_id=f"a{n}", extra={"feesEnabled": False}))
    b = await seed_market(conn, SeedMarket(venue="kalshi", native_id=f"B-{n}"))
    await _book(conn, a, 0, f'[["{yes_ask}", "100"]]')
    await _book(conn, a, 1, '[["0.99", "100"]]')
    await _book(conn, b, 0, '[["0.99", "100"]]')
    await _book(conn, b, 1, f'[["{no_ask}", "50"]]')
    lo, hi = sorted((a, b))
    match_id: int = await conn.fetchval(
        "INSERT INTO gold.market_matches (market_a, market_b, relation, confidence, status,"
        " decided_by, decided_at, notes) VALUES ($1, $2, 'same', 1, 'confirmed', 't', now(),"
        " '[\"resolution sources differ\"]') RETURNING id",
        lo,
        hi,
    )
    return match_id


async def test_arbitrage_lists_filters_and_pages(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    await _pair(conn, 1, "0.40", "0.50")  # edge about 0.10 − fees on the second leg
    await _pair(conn, 2, "0.45", "0.50")
    await _pair(conn, 3, "0.30", "0.50")
    await refresh(conn, CONFIG, now=datetime.now(UTC))

    body = (await client.get("/v1/arbitrage")).json()
    edges = [d["edge"] for d in body["data"]]
    assert len(edges) == 3 and edges == sorted(edges, reverse=True)
    top = body["data"][0]
    assert top["size"] == 50 and top["status"] == "open"
    assert [leg["side"] for leg in top["legs"]] == ["yes", "no"] or [
        leg["side"] for leg in top["legs"]
    ] == ["no", "yes"]
    assert {leg["venue"] for leg in top["legs"]} == {"polymarket", "kalshi"}
    assert "resolution sources differ" in top["risks"]
    assert body["as_of"] and body["refreshed_at"]

    first = (await client.get("/v1/arbitrage", params={"limit": 2})).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = (
        await client.get("/v1/arbitrage", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [d["id"] for d in first["data"] + rest["data"]] == [d["id"] for d in body["data"]]
    assert rest["next_cursor"] is None

    strong = (await client.get("/v1/arbitrage", params={"min_edge": 0.12})).json()
    assert [d["edge"] for d in strong["data"]] == [e for e in edges if e >= 0.12]
    assert (await client.get("/v1/arbitrage", params={"min_size": 51})).json()["data"] == []
    assert len((await client.get("/v1/arbitrage", params={"venue": "kalshi"})).json()["data"]) == 3
    assert (await client.get("/v1/arbitrage", params={"venue": "opinion"})).json()["data"] == []
    closed = (await client.get("/v1/arbitrage", params={"status": "closed"})).json()
    assert closed["data"] == []

    for params in (
        {"min_edge": "-1"},
        {"min_edge": "lots"},
        {"min_size": "-3"},
        {"venue": "nowhere"},
        {"status": "maybe"},
        {"cursor": "not-a-cursor"},
        {"limit": "0"},
    ):
        r = await client.get("/v1/arbitrage", params=params)
        assert 400 <= r.status_code < 500, params
        assert r.json()["error"]["message"], params


async def _next(ws: Any, kind: str, within: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            msg: dict[str, Any] = orjson.loads(await ws.recv())
            if msg["type"] == kind:
                return msg


async def test_topic_pushes_openings_and_closings(live_url: str, conn: asyncpg.Connection) -> None:
    async with websockets.connect(f"ws://{live_url}/v1/ws") as ws:
        await ws.send(orjson.dumps({"op": "subscribe", "topics": ["nonsense"]}))
        assert (await _next(ws, "error"))["code"] == "unknown_topic"
        await ws.send(orjson.dumps({"op": "subscribe", "topics": ["arbitrage"]}))
        assert (await _next(ws, "subscribed"))["topics"] == ["arbitrage"]

        match_id = await _pair(conn, 1, "0.40", "0.50")
        now = datetime.now(UTC)
        await refresh(conn, CONFIG, now=now)
        opened = await _next(ws, "arbitrage")
        assert opened["event"] == "opened" and opened["data"]["match_id"] == match_id

        await refresh(conn, CONFIG, now=now + timedelta(minutes=5))  # every leg stale
        closed = await _next(ws, "arbitrage")
        assert closed["event"] == "closed"
        assert closed["data"]["id"] == opened["data"]["id"]
        assert closed["data"]["close_reason"] == "stale"
