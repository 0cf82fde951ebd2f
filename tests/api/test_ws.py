"""WebSocket fan-out on a live server: pushed quotes and trades, resync, protocol errors."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
import websockets

from predhub.api.ws import Client
from predhub.service.testing import SeedMarket, seed_market, write_quote


async def _next(ws: Any, kind: str, within: float = 5.0) -> dict[str, Any]:
    """The next message of this type (heartbeats and others are skipped)."""
    async with asyncio.timeout(within):
        while True:
            msg: dict[str, Any] = orjson.loads(await ws.recv())
            if msg["type"] == kind:
                return msg


async def test_subscribed_client_receives_quotes_and_trades(
    live_url: str, conn: asyncpg.Connection
) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=1))
    other = await seed_market(conn, SeedMarket(native_id="other", synced_ago=1))
    async with websockets.connect(f"ws://{live_url}/v1/ws") as ws:
        await ws.send(orjson.dumps({"op": "subscribe", "markets": [str(market_id), "nope-x"]}))
        subscribed = await _next(ws, "subscribed")
        assert subscribed["markets"] == {str(market_id): market_id}
        assert subscribed["unknown"] == ["nope-x"]
        initial = await _next(ws, "quote")
        assert initial["market_id"] == market_id and initial["data"]["outcomes"][0]["price"] == 0.6

        await write_quote(conn, other, [0.2, 0.8])  # not subscribed: nothing arrives
        await write_quote(conn, market_id, [0.33, 0.67])  # NOTIFY predhub_quotes
        pushed = await _next(ws, "quote")
        assert pushed["market_id"] == market_id
        assert pushed["data"]["outcomes"][0]["price"] == 0.33

        outcome = await conn.fetchval(
            "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", market_id
        )
        await conn.execute(
            "INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size,"
            " executed_at) VALUES ('polymarket', $1, $2, 'k1', $3, 5, now())",
            market_id,
            outcome,
            Decimal("0.34"),
        )
        await conn.execute("SELECT pg_notify('predhub_trades', $1)", str(market_id))
        trades = await _next(ws, "trades")
        assert [t["trade_key"] for t in trades["trades"]] == ["k1"]

        await ws.send(orjson.dumps({"op": "ping"}))
        await _next(ws, "pong")
        await ws.send(b"not json")
        assert (await _next(ws, "error"))["code"] == "bad_json"
        await ws.send(orjson.dumps({"op": "dance"}))
        assert (await _next(ws, "error"))["code"] == "unknown_op"
        await ws.send(orjson.dumps({"op": "subscribe", "markets": ["bad id"]}))
        assert (await _next(ws, "error"))["code"] == "malformed_id"

        await ws.send(orjson.dumps({"op": "unsubscribe", "markets": [str(market_id)]}))
        await _next(ws, "unsubscribed")
        await write_quote(conn, market_id, [0.5, 0.5])
        await ws.send(orjson.dumps({"op": "ping"}))
        # Only the pong comes back: no quote for a market no longer followed.
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert msg["type"] == "pong"


class _FakeSocket:
    """Only the queue logic is under test here; nothing is sent."""


def test_a_client_that_falls_behind_is_told_to_resync() -> None:
    client = Client(_FakeSocket(), queue_size=3)  # type: ignore[arg-type]
    for n in range(3):
        client.push(b'{"n":%d}' % n)
    assert client.resync_reason is None
    client.push(b'{"n":3}')  # one too many: the backlog goes, a resync takes its place
    assert client.resync_reason == "slow_consumer"
    assert client.queue.qsize() == 1 and client.queue.get_nowait() == b""


async def test_a_burst_of_updates_ends_with_the_current_state(
    live_url: str, conn: asyncpg.Connection
) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=1))
    async with websockets.connect(f"ws://{live_url}/v1/ws", max_queue=None) as ws:
        await ws.send(orjson.dumps({"op": "subscribe", "markets": [str(market_id)]}))
        await _next(ws, "quote")
        # Far more updates than a client queue holds, while the client reads nothing.
        for n in range(400):
            await conn.execute("SELECT pg_notify('predhub_quotes', $1)", str(market_id))
            if n % 50 == 0:
                await write_quote(conn, market_id, [n / 1000, 1 - n / 1000], notify=False)
        await write_quote(conn, market_id, [0.9, 0.1])
        # Coalesced or resynced, the last message about the market carries its current price.
        latest = await _next(ws, "quote", within=10)
        async with asyncio.timeout(10):
            while latest["data"]["outcomes"][0]["price"] != 0.9:
                latest = await _next(ws, "quote")
        assert latest["market_id"] == market_id
