"""The Polymarket market channel protocol against a scripted WebSocket server (real sockets)."""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from decimal import Decimal
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from predhub.settings import Settings
from predhub.venues.base import MarketRef, OutcomeRef, StreamUpdate
from predhub.venues.polymarket.stream import market_stream

SESSION = (
    Path(__file__).parent.parent
    / "fixtures/polymarket/argos/ws_market_channel_session.excerpt.json"
)
PONGS = 20  # at 0.1 s: quiet but alive for twice the 1 s window, then dead
YES = "34691510069031117755834214800869745291092253295564665516660269316660628637961"
NO = "95561057794427123541889915407555646439882912350845258651794843110787555977699"


class Channel:
    """Replays the recorded session: the wrapped book, one price change, then quiet.

    PINGs are answered with PONG but no data follows (a quiet feed, alive); on
    the first connection only the first `PONGS` PINGs are answered, then none
    (a dead peer while the socket stays open). Every connection and frame is
    recorded.
    """

    def __init__(self) -> None:
        frames = [m["raw"] for m in json.loads(SESSION.read_text())["messages"]]
        self.book = frames[0]
        self.change = frames[1]
        self.received: list[list[str]] = []

    async def handler(self, ws: ServerConnection) -> None:
        got: list[str] = []
        self.received.append(got)
        async for message in ws:
            text = str(message)
            got.append(text)
            if text == "PING" and (len(self.received) > 1 or got.count("PING") <= PONGS):
                await ws.send("PONG")
            elif text.startswith("{"):
                await ws.send(self.book)
                await ws.send(self.change)


async def test_subscribe_ping_silence_and_resubscribe() -> None:
    channel = Channel()
    async with serve(channel.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        settings = Settings(
            polymarket_ws_url=f"ws://127.0.0.1:{port}",
            ws_ping_seconds=0.1,
            ws_silence_seconds=1.0,
        )
        ref = MarketRef("m1", outcomes=(OutcomeRef(0, YES), OutcomeRef(1, NO)))
        updates: list[StreamUpdate] = []

        async def consume() -> None:
            async with aclosing(market_stream(settings, [ref])) as stream:
                async for update in stream:
                    updates.append(update)
                    if len([u for u in updates if u.books]) == 2:
                        return

        await asyncio.wait_for(consume(), 10)

    kinds = [
        "book" if u.books else "resync" if u.resync else "quotes" if u.quotes else "alive"
        for u in updates
    ]
    resync = kinds.index("resync")
    # the PONGs kept the quiet feed for twice the window; the resync came once they stopped
    assert kinds[:resync] == ["book", "quotes"] + ["alive"] * PONGS
    assert kinds[resync:] == ["resync", "book"]
    assert updates[resync].reason == "silent"
    first = updates[0]
    assert first.raw is not None and isinstance(first.raw.body, list)
    assert first.books[0].best_bid == Decimal("0.28")
    assert first.books[0].best_ask == Decimal("0.29")
    assert {q.outcome_index for q in updates[1].quotes} == {0, 1}
    # two connections, each subscribing with the same message, PINGs between
    assert len(channel.received) == 2
    subscribe: dict[str, Any] = json.loads(channel.received[0][0])
    assert subscribe == {"assets_ids": [YES, NO], "type": "market"}
    assert channel.received[1][0] == channel.received[0][0]
    assert channel.received[0].count("PING") >= PONGS + 3  # ~1 s of silence at 0.1 s
    assert set(channel.received[0][1:]) == {"PING"}


async def test_a_dropped_connection_resyncs_and_reconnects() -> None:
    channel = Channel()
    connections = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.recv()  # the subscription
        await ws.send(channel.book)
        if connections == 1:
            await ws.close()  # the venue drops us
        else:
            await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        settings = Settings(
            polymarket_ws_url=f"ws://127.0.0.1:{port}",
            http_backoff_base_seconds=0.01,
            ws_silence_seconds=5,
        )
        ref = MarketRef("m1", outcomes=(OutcomeRef(0, YES),))
        updates: list[StreamUpdate] = []

        async def consume() -> None:
            async with aclosing(market_stream(settings, [ref])) as stream:
                async for update in stream:
                    updates.append(update)
                    if len([u for u in updates if u.books]) == 2:
                        return

        await asyncio.wait_for(consume(), 10)
    assert [bool(u.books) for u in updates] == [True, False, True]
    assert updates[1].resync
    assert connections == 2
