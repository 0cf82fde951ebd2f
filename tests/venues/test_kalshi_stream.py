"""Kalshi's socket: a quiet feed lives on its pongs, a dead peer is resynced (real sockets).

Kalshi's liveness is WebSocket-level: the client pings every
`ws_ping_seconds` and the venue's pongs are the only frames a quiet feed
sends. A WebSocket server answers pings by itself, so the simulator's feed
cannot play dead; here a plain TCP peer does: it completes the WebSocket
handshake, then reads nothing and answers nothing, as a hung venue would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.server import ServerConnection, serve

from predhub.settings import Settings
from predhub.venues.base import MarketRef, StreamUpdate
from predhub.venues.kalshi.signing import Signer
from predhub.venues.kalshi.stream import market_stream

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
REFS = [MarketRef("KXBTC-26DEC01-B100000", ticker="KXBTC-26DEC01-B100000")]


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("test-key", rsa.generate_private_key(public_exponent=65537, key_size=2048))


class DeadPeer:
    """Accepts the WebSocket upgrade, then never reads or writes again (counts connections)."""

    def __init__(self) -> None:
        self.connections = 0
        self._held: list[asyncio.StreamWriter] = []

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        key = next(
            line.split(":", 1)[1].strip()
            for line in head.split("\r\n")
            if line.lower().startswith("sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        await writer.drain()
        self._held.append(writer)  # open, and deaf from now on

    def close(self) -> None:
        for writer in self._held:
            writer.close()


def _settings(port: int, **windows: Any) -> Settings:
    """The stream pointed at a local peer, pinging every 0.1 s."""
    return Settings(
        kalshi_ws_url=f"ws://127.0.0.1:{port}/trade-api/ws/v2", ws_ping_seconds=0.1, **windows
    )


async def _session(
    settings: Settings,
    signer: Signer,
    seconds: float,
    stop: Callable[[StreamUpdate], bool] = lambda _: False,
) -> tuple[list[StreamUpdate], bool]:
    """The stream's updates until `stop` says so or `seconds` pass, and whether it stopped."""
    updates: list[StreamUpdate] = []

    async def consume() -> None:
        async with aclosing(market_stream(settings, signer, REFS)) as stream:
            async for update in stream:
                updates.append(update)
                if stop(update):
                    return

    try:
        await asyncio.wait_for(consume(), seconds)
    except TimeoutError:
        return updates, False
    return updates, True


async def test_a_dead_peer_is_resynced_and_reconnected(signer: Signer) -> None:
    peer = DeadPeer()
    server = await asyncio.start_server(peer.handler, "127.0.0.1", 0)
    settings = _settings(
        server.sockets[0].getsockname()[1],
        ws_silence_seconds=0.5,
        http_backoff_base_seconds=0.01,
    )
    try:
        updates, stopped = await _session(
            settings, signer, 10, stop=lambda u: u.resync and peer.connections >= 2
        )
    finally:
        peer.close()
        server.close()
    assert stopped, "no resync after a second connection within 10 s"
    assert [u.reason for u in updates if u.resync][:2] == ["silent", "silent"]
    assert not [u for u in updates if not u.resync]  # not a sign of life from a dead peer


async def test_a_quiet_feed_lives_on_its_pongs(signer: Signer) -> None:
    """The server answers pings (as every WebSocket server does) and sends no data for
    three times the silence window: no resync, one connection, signs of life passed on."""
    connections: list[list[str]] = []

    async def handler(ws: ServerConnection) -> None:
        got: list[str] = []
        connections.append(got)
        async for message in ws:  # the subscription, then nothing to say
            got.append(str(message))

    async with serve(handler, "127.0.0.1", 0) as listening:
        settings = _settings(listening.sockets[0].getsockname()[1], ws_silence_seconds=1.0)
        updates, stopped = await _session(settings, signer, 3.0)  # three windows of quiet

    assert not stopped
    assert len(connections) == 1
    assert '"cmd":"subscribe"' in connections[0][0]
    assert not [u for u in updates if u.resync]
    assert updates  # the pongs came through as signs of life
    assert all(not (u.raw or u.quotes or u.trades or u.books) for u in updates)
