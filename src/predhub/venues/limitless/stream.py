"""Limitless's market socket: whole CLOB books as they change, over Socket.IO.

The venue serves Socket.IO v4 at `LIMITLESS_WS_URL` (namespace `/markets`,
WebSocket transport only, no key for market data). After the namespace
connects, one `subscribe_market_prices` event with every slug at once
(`marketSlugs`; each call replaces the last, and the venue forgets it on
reconnect, so every connection sends it again). Each `orderbookUpdate` is the
market's whole Yes book, so a book read from it is never partial and a missed
message costs nothing once the next one comes; there are no sequence numbers
(no gap to see) and no trades on this feed (the venue publishes none we read).

Books arrive only when something changes, so a quiet market sends nothing for
long stretches; the server's Engine.IO pings (every `pingInterval`, 25 s at
the venue) are what show the connection is alive. Each ping is answered and
passed on as a sign of life (`wsloop.alive()`), so a quiet feed keeps its
connection and its subscription. Only when no frame at all, pings included,
comes for `ws_silence_seconds` (which must exceed the venue's ping interval)
is the peer taken for dead: `StreamUpdate(resync=True)` (the quotes are
re-read over REST) and a reconnect; a dropped connection does the same, with
backoff (`venues.wsloop`). AMM markets have no book and send nothing here:
they stay polled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from predhub.errors import Retriable
from predhub.models import RawResponse
from predhub.settings import Settings
from predhub.venues import socketio, wsloop
from predhub.venues.base import MarketRef, StreamUpdate
from predhub.venues.errors import VenueError
from predhub.venues.http import excerpt, utc_now
from predhub.venues.limitless import parse
from predhub.venues.normalize import ItemInvalid
from predhub.venues.wsloop import Liveness, Lull, receive, reconnecting, silent

log = structlog.get_logger(__name__)

VENUE = parse.VENUE
NAMESPACE = "/markets"
ENDPOINT = "ws:/socket.io/markets"


class SessionClosed(WebSocketException, VenueError, Retriable):
    """The server closed the Socket.IO session or namespace (a drop: the reconnect loop
    catches it as any WebSocket failure and resyncs)."""


def subscribe(refs: Sequence[MarketRef]) -> str:
    slugs = list(dict.fromkeys(r.slug or r.native_id for r in refs))
    return socketio.event(NAMESPACE, "subscribe_market_prices", {"marketSlugs": slugs})


def _observed(value: Any, received: datetime) -> datetime:
    """The event's `timestamp` (ISO text or milliseconds), else the time of receipt."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return received
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return received


def decode_event(
    name: Any, data: Any, no_tokens: dict[str, str | None], received: datetime
) -> StreamUpdate:
    """One event of the namespace -> a `StreamUpdate` (pure, given the time of receipt)."""
    raw = RawResponse(VENUE, ENDPOINT, {"event": str(name)[:60]}, 200, received, data)
    update = StreamUpdate(raw=raw)
    if name == "exception":
        log.warning("limitless_ws_exception", error=excerpt(orjson.dumps(data).decode()))
    if name != "orderbookUpdate":
        return update  # system, acks, AMM prices: kept in the raw frame
    slug = str(data.get("marketSlug") or "") if isinstance(data, dict) else ""
    if slug not in no_tokens:
        return update
    try:
        update.books = parse.parse_orderbook(
            slug,
            data.get("orderbook"),
            _observed(data.get("timestamp"), received),
            no_tokens[slug],
            size_decimals=parse.DEFAULT_DECIMALS,
        )
    except ItemInvalid as exc:
        log.warning("limitless_ws_bad_item", item_id=exc.item_id or slug, reason=exc.reason)
    return update


def _packet(frame: str | bytes) -> socketio.Packet | None:
    """A frame decoded, None (logged) for one that is not Engine.IO v4 text."""
    try:
        return socketio.decode(frame)
    except (ValueError, orjson.JSONDecodeError) as exc:
        log.warning("limitless_ws_bad_frame", reason=str(exc)[:120])
        return None


def _namespace_event(packet: socketio.Packet) -> bool:
    """Whether the packet belongs to our namespace (a close or a refusal raises)."""
    if packet.engine == "1":
        raise SessionClosed("the server closed the session")
    if packet.engine == "4" and packet.namespace == NAMESPACE:
        if packet.kind in ("1", "4"):
            raise SessionClosed(f"namespace refused or left: {packet.data!r}")
        return True
    return False


async def _next_event(ws: ClientConnection) -> socketio.Packet:
    """The next namespace packet, answering the server's pings on the way (the handshake)."""
    while True:
        packet = _packet(await ws.recv())
        if packet is None:
            continue
        if packet.engine == socketio.PING:
            await ws.send(socketio.PONG)
        elif _namespace_event(packet):
            return packet


async def market_stream(
    settings: Settings, refs: Sequence[MarketRef]
) -> AsyncIterator[StreamUpdate]:
    """Live books of these markets until the consumer stops iterating."""
    no_tokens = {
        r.slug or r.native_id: next((o.token_id for o in r.outcomes if o.index == 1), None)
        for r in refs
    }
    if not no_tokens:
        return
    url = socketio.socket_url(settings.venue(VENUE).url("ws_url"))
    wait = settings.ws_silence_seconds

    async def session() -> AsyncIterator[StreamUpdate]:
        async with connect(url, ping_interval=None, max_size=2**24) as ws:
            opened = socketio.decode(await asyncio.wait_for(ws.recv(), wait))
            if opened.engine != "0":
                raise SessionClosed(f"no Engine.IO open packet: {opened.engine!r}")
            await ws.send(socketio.connect(NAMESPACE))
            packet = await asyncio.wait_for(_next_event(ws), wait)
            if packet.kind != "0":
                raise SessionClosed(f"namespace not connected: {packet.kind!r}")
            await ws.send(subscribe(refs))
            alive = Liveness(wait)
            while True:
                frame = await receive(ws, alive)
                if frame is Lull.SILENT:
                    wsloop.abandon(ws)
                    yield silent(VENUE, wait)  # reconnect: a new subscription, fresh books
                    return
                got = None if frame is Lull.ALIVE else _packet(frame)
                if got is None:
                    continue
                if got.engine == socketio.PING:
                    await ws.send(socketio.PONG)
                    yield wsloop.alive()  # quiet, not dead: the subscription stands
                    continue
                if not _namespace_event(got):
                    continue
                if got.kind == "2" and isinstance(got.data, list) and got.data:
                    name, *args = got.data
                    yield decode_event(name, args[0] if args else None, no_tokens, utc_now())

    async for update in reconnecting(settings, VENUE, session):
        yield update
