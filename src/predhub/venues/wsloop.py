"""The reconnect loop every venue stream shares: one connection at a time, trouble as resyncs.

A venue's stream module writes `session()`, an async generator over one
connection (connect, subscribe, yield updates). When it ends because the feed
fell silent it has yielded `StreamUpdate(resync=True, reason="silent")` and
returns; the loop reconnects at once, which resubscribes and brings fresh
state. A dropped or refused connection yields `StreamUpdate(resync=True,
reason="dropped")` and reconnects after a backoff that doubles up to
`http_backoff_max_seconds` and resets once data flows again. Anything else a
session raises (a `FatalError` for a refused handshake) ends the stream.

Silence means a dead peer, not a quiet market: a session counts every frame
as a sign of life, the venue's pings and the answers to our own pings
included (`Liveness`, `receive`), so a feed whose markets do not move keeps
its connection for as long as the venue keeps answering. Only a connection
that shows no life at all for `ws_silence_seconds` is resynced. Each sign of
life without data is passed on as an empty `StreamUpdate` (`alive()`), so the
consumer, which watches its own silence as a backstop, sees the feed is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import Enum
from typing import Protocol

import structlog
from websockets.exceptions import WebSocketException

from predhub.settings import Settings
from predhub.venues.base import StreamUpdate

log = structlog.get_logger(__name__)


async def reconnecting(
    settings: Settings, venue: str, session: Callable[[], AsyncIterator[StreamUpdate]]
) -> AsyncIterator[StreamUpdate]:
    """Run `session` again and again until the consumer stops iterating."""
    backoff = settings.http_backoff_base_seconds
    while True:
        try:
            async for update in session():
                if not update.resync:
                    backoff = settings.http_backoff_base_seconds
                yield update
        except (OSError, WebSocketException, TimeoutError) as exc:
            log.info("stream_reconnect", venue=venue, error=type(exc).__name__, delay=backoff)
            yield StreamUpdate(resync=True, reason="dropped")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, settings.http_backoff_max_seconds)


def silent(venue: str, seconds: float) -> StreamUpdate:
    """The update a session yields before it returns because the peer showed no life for `seconds`."""
    log.info("stream_silent", venue=venue, seconds=seconds)
    return StreamUpdate(resync=True, reason="silent")


class Liveness:
    """When the peer last showed it is there, and how long it may stay quiet before it is dead."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = time.monotonic()

    def saw(self) -> None:
        """A frame of any kind came, or the peer answered a ping: it is there."""
        self.last = time.monotonic()

    def left(self) -> float:
        """Seconds until the peer counts as dead (<= 0: it does now)."""
        return self.last + self.seconds - time.monotonic()


class Lull(Enum):
    """What `receive` found instead of a frame."""

    ALIVE = "alive"  # no frame, but the peer answered a ping meanwhile
    SILENT = "silent"  # no sign of life for the whole window: the connection is dead


class Receiver(Protocol):
    async def recv(self) -> str | bytes: ...


class Abortable(Protocol):
    @property
    def transport(self) -> asyncio.Transport: ...


class Connection(Receiver, Abortable, Protocol):
    """A client socket as the sessions use it: frames in, and dropped at once when dead."""


def abandon(ws: Abortable) -> None:
    """Drop a dead peer's connection at once: a closing handshake would wait for an answer
    that is not coming (`close_timeout`, 10 s) before the reconnect."""
    ws.transport.abort()


async def receive(ws: Receiver, alive: Liveness) -> str | bytes | Lull:
    """The next frame (any frame counts as life), or why none came within the window.

    A timeout is not yet silence: an answer to our ping (which `recv` never
    returns, as for WebSocket pongs) may have moved `alive` on meanwhile.
    """
    left = alive.left()
    if left <= 0:
        return Lull.SILENT
    try:
        frame = await asyncio.wait_for(ws.recv(), left)
    except TimeoutError:
        return Lull.ALIVE if alive.left() > 0 else Lull.SILENT
    alive.saw()
    return frame


def alive() -> StreamUpdate:
    """The update a session yields for a sign of life that carries no data (a ping, a pong)."""
    return StreamUpdate()


async def frames(
    ws: Connection, alive: Liveness, venue: str
) -> AsyncIterator[str | bytes | StreamUpdate]:
    """A session's frames as they come, with an empty update for a quiet but live window.

    When the peer shows no life for `alive.seconds`, the connection is dropped at
    once and the last item is the `silent` resync update: the session then ends,
    and the reconnect brings a new subscription with fresh snapshots.
    """
    while True:
        frame = await receive(ws, alive)
        if frame is Lull.SILENT:
            abandon(ws)
            yield silent(venue, alive.seconds)
            return
        yield StreamUpdate() if frame is Lull.ALIVE else frame


@contextlib.asynccontextmanager
async def pinging(ping: Callable[[], Awaitable[None]], every: float) -> AsyncIterator[None]:
    """`ping()` every `every` seconds while the block runs; stopped when it ends."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            await ping()

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketException):
            await task
