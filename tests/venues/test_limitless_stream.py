"""Limitless's Socket.IO market feed against a scripted server (real sockets).

The server speaks Engine.IO v4 as the venue does: the open packet, then its
own pings; the client connects the `/markets` namespace, answers pings, sends
one `subscribe_market_prices` with every slug, and reads `orderbookUpdate`
events as whole books. A server that pings but sends no event is a quiet
feed, alive: its pings keep the connection. A server that stops pinging too
is dead: the stream resyncs, and a second connection must subscribe again
(the venue forgets).
"""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from decimal import Decimal

import pytest
from websockets.asyncio.server import ServerConnection, serve

from predhub.settings import Settings
from predhub.venues import socketio
from predhub.venues.base import MarketRef, OutcomeRef, StreamUpdate
from predhub.venues.limitless.stream import market_stream

BOOK = {
    "marketSlug": "btc-above-100k",
    "orderbook": {
        "bids": [{"price": 0.41, "size": 5000000, "side": "BUY"}],
        "asks": [{"price": 0.44, "size": 2500000, "side": "SELL"}],
        "tokenId": "111",
        "adjustedMidpoint": 0.425,
        "maxSpread": 0.035,
        "minSize": 1000000,
    },
    "timestamp": "2026-11-30T12:00:00.000Z",
}
OPEN = '0{"sid":"abc","upgrades":[],"pingInterval":200,"pingTimeout":2000,"maxPayload":1000000}'


PINGS = 20  # at 0.1 s: the first connection stays quiet but alive for twice the window


class Server:
    """Sends one book after the subscription, then only pings (on the first connection,
    `PINGS` of them, then nothing: it dies); records what it got."""

    def __init__(self) -> None:
        self.received: list[list[str]] = []

    async def handler(self, ws: ServerConnection) -> None:
        got: list[str] = []
        self.received.append(got)
        first = len(self.received) == 1
        assert ws.request is not None and "EIO=4" in ws.request.path
        await ws.send(OPEN)

        async def ping() -> None:
            sent = 0
            while not first or sent < PINGS:
                await asyncio.sleep(0.1)
                await ws.send("2")
                sent += 1

        pinger = asyncio.create_task(ping())
        try:
            async for message in ws:
                text = str(message)
                got.append(text)
                if text == "40/markets,":
                    await ws.send('40/markets,{"sid":"ns1"}')
                elif text.startswith("42/markets,"):
                    await ws.send("42/markets," + json.dumps(["orderbookUpdate", BOOK]))
        finally:
            pinger.cancel()


async def test_subscribe_read_books_answer_pings_resync_when_dead() -> None:
    server = Server()
    async with serve(server.handler, "127.0.0.1", 0) as listening:
        port = listening.sockets[0].getsockname()[1]
        settings = Settings(limitless_ws_url=f"ws://127.0.0.1:{port}", ws_silence_seconds=1.0)
        refs = [
            MarketRef("btc-above-100k", (OutcomeRef(0, "111"), OutcomeRef(1, "222"))),
            MarketRef("eth-above-5k", slug="eth-above-5k"),
        ]
        updates: list[StreamUpdate] = []

        async def consume() -> None:
            async with aclosing(market_stream(settings, refs)) as stream:
                async for update in stream:
                    updates.append(update)
                    if len([u for u in updates if u.books]) == 2:
                        return

        await asyncio.wait_for(consume(), 10)

    kinds = ["book" if u.books else "resync" if u.resync else "alive" for u in updates]
    resync = kinds.index("resync")
    # quiet for 2 s (twice the 1 s window) on pings alone, no resync: only once
    # the pings stopped
    assert kinds[:resync] == ["book"] + ["alive"] * PINGS
    assert kinds[resync:] == ["resync", "book"]
    assert all(u.raw is None and not u.resync for u in updates[1:resync])
    yes, no = updates[0].books
    assert (yes.best_bid, yes.best_ask) == (Decimal("0.41"), Decimal("0.44"))
    assert yes.bids[0].size == Decimal(5)  # raw 6-decimal units
    assert (no.best_bid, no.best_ask, no.token_id) == (Decimal("0.56"), Decimal("0.59"), "222")
    assert updates[resync].reason == "silent"
    assert len(server.received) == 2  # reconnected
    for got in server.received:
        assert got[0] == "40/markets,"
        assert json.loads(got[1].removeprefix("42/markets,")) == [
            "subscribe_market_prices",
            {"marketSlugs": ["btc-above-100k", "eth-above-5k"]},
        ]
    assert server.received[0].count("3") == PINGS  # the server's pings were answered


@pytest.mark.parametrize(
    ("frame", "engine", "kind", "namespace", "data"),
    [
        ('0{"sid":"x"}', "0", "", "/", {"sid": "x"}),
        ("2", "2", "", "/", None),
        ('40/markets,{"sid":"y"}', "4", "0", "/markets", {"sid": "y"}),
        (
            '42/markets,["system",{"message":"ok"}]',
            "4",
            "2",
            "/markets",
            ["system", {"message": "ok"}],
        ),
        (
            '44/markets,{"message":"Invalid namespace"}',
            "4",
            "4",
            "/markets",
            {"message": "Invalid namespace"},
        ),
        ('42["event",1]', "4", "2", "/", ["event", 1]),
    ],
)
def test_socketio_frames_decode(
    frame: str, engine: str, kind: str, namespace: str, data: object
) -> None:
    packet = socketio.decode(frame)
    assert (packet.engine, packet.kind, packet.namespace, packet.data) == (
        engine,
        kind,
        namespace,
        data,
    )


def test_socketio_frames_encode() -> None:
    assert socketio.connect("/markets") == "40/markets,"
    assert socketio.event("/markets", "subscribe_market_prices", {"marketSlugs": ["a"]}) == (
        '42/markets,["subscribe_market_prices",{"marketSlugs":["a"]}]'
    )
    assert socketio.socket_url("wss://ws.example/") == (
        "wss://ws.example/socket.io/?EIO=4&transport=websocket"
    )
    with pytest.raises(ValueError):
        socketio.decode(b"binary")
