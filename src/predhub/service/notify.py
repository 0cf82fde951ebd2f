"""One LISTEN connection per process, fanned out to in-process subscribers.

PostgreSQL delivers every NOTIFY to every listening session, so each API
process sees every quote, trade and market change no matter which process or
worker wrote it. The connection is watched: when it drops, subscribers are
told to reset (the cache clears itself, WebSocket clients get a resync) and
the listener reconnects with backoff.

Its waits use `asyncio.timeout` rather than `asyncio.wait_for`: on Python
3.11, `wait_for` drops a cancellation that arrives in the same step as the
awaited result, and a stop's cancel does arrive then when the database is
going away (its shutdown ends the LISTEN session as the process stops). The
watcher then went on reconnecting to a database that was gone, and `stop()`,
waiting for it, never returned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import asyncpg
import structlog

from predhub.db.connect import DatabaseUnavailable, connect
from predhub.db.queries import load
from predhub.service.ids import ascii_int
from predhub.tasks import cancel_and_wait

_Q = load("service_reads")

log = structlog.get_logger(__name__)

QUOTES_CHANNEL = "predhub_quotes"
TRADES_CHANNEL = "predhub_trades"
MARKETS_CHANNEL = "predhub_market_changed"
ARBITRAGE_CHANNEL = "predhub_arbitrage"  # an opportunity's id when it opens or closes
KEYS_CHANNEL = "predhub_keys"  # an API key or its account changed (payload: key ids)
CHANNELS = (QUOTES_CHANNEL, TRADES_CHANNEL, MARKETS_CHANNEL, ARBITRAGE_CHANNEL, KEYS_CHANNEL)

# Reconnecting is one cheap attempt; a short ceiling brings LISTEN back within a
# second or so of the database's return instead of after a long backoff.
MAX_RECONNECT_DELAY_SECONDS = 1.0

Handler = Callable[[str, list[int]], None]
ResetHandler = Callable[[], None]


def parse_ids(payload: str) -> list[int]:
    """Market ids from a payload: one id, or several separated by commas or spaces."""
    ids: list[int] = []
    for part in payload.replace(",", " ").split():
        number = ascii_int(part)
        if number is not None:
            ids.append(number)
    return ids


class Listener:
    def __init__(self, url: str, channels: Sequence[str] = CHANNELS) -> None:
        self._url = url
        self._channels = tuple(channels)
        self._handlers: list[Handler] = []
        self._reset_handlers: list[ResetHandler] = []
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.connected = asyncio.Event()
        self.received = 0

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def on_reset(self, handler: ResetHandler) -> None:
        self._reset_handlers.append(handler)

    def _dispatch(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self.received += 1
        ids = parse_ids(payload)
        if not ids:
            return
        for handler in self._handlers:
            handler(channel, ids)

    def _terminated(self, _conn: object) -> None:
        self._lost.set()

    async def _connect(self) -> None:
        conn = await connect(self._url)
        for channel in self._channels:
            await conn.add_listener(channel, self._dispatch)
        conn.add_termination_listener(self._terminated)
        self._conn = conn
        self._lost.clear()
        self.connected.set()

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._watch(), name="predhub-listener")

    async def _watch(self) -> None:
        delay = 0.5
        while True:
            try:
                async with asyncio.timeout(5.0):
                    await self._lost.wait()
            except TimeoutError:
                if await self._alive():
                    continue
            self.connected.clear()
            log.warning("service.listener_lost")
            for handler in self._reset_handlers:
                handler()
            await self._close_conn()
            while True:
                try:
                    await self._connect()
                    log.info("service.listener_reconnected")
                    for handler in self._reset_handlers:
                        handler()
                    delay = 0.5
                    break
                except DatabaseUnavailable:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_RECONNECT_DELAY_SECONDS)

    async def _alive(self) -> bool:
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            async with asyncio.timeout(5.0):
                await conn.execute(_Q.ping)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return False
        return True

    async def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                async with asyncio.timeout(2.0):
                    await conn.close()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._close_conn()
