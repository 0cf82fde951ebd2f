"""WebSocket fan-out: quotes and trades pushed as ingestion writes them.

Each API process holds one LISTEN connection (the service's `Listener`);
a notification about market 42 becomes one database read and one serialized
message, queued to every client of this process subscribed to 42. Reads are
coalesced over a few milliseconds, so a burst of changes costs one query.

Every client has a bounded queue. A client that falls behind is not dropped in
silence: its backlog is discarded, it is sent `{"type": "resync"}` followed by
the current state of each market it follows. Clients get a heartbeat when idle.

Protocol (JSON text frames; described as AsyncAPI at /asyncapi.json, see `asyncapi`):
  -> {"op": "subscribe", "markets": ["42", "<venue>:KX-1", ...]}
  -> {"op": "unsubscribe", "markets": [...]}
  -> {"op": "subscribe", "topics": ["arbitrage"]}  (also unsubscribe)
  -> {"op": "ping"}
  <- {"type": "subscribed", "markets": {"42": 42}, "unknown": [...]}
  <- {"type": "quote", "market_id": 42, "data": {...market...}}
  <- {"type": "trades", "market_id": 42, "trades": [...]}
  <- {"type": "arbitrage", "event": "opened" | "closed", "data": {...opportunity...}}
  <- {"type": "heartbeat", "ts": "..."} / {"type": "pong"}
  <- {"type": "resync", "reason": "..."} / {"type": "error", "code": ..., "message": ...}
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from prometheus_client import Counter, Gauge
from starlette.websockets import WebSocket, WebSocketDisconnect

from predhub.service.catalog import DatabaseFailure
from predhub.service.errors import ServiceError
from predhub.service.ids import validate_id
from predhub.service.notify import ARBITRAGE_CHANNEL, QUOTES_CHANNEL, TRADES_CHANNEL, Listener
from predhub.service.service import MarketDataService

log = structlog.get_logger(__name__)

WS_CLIENTS = Gauge("predhub_ws_clients", "WebSocket clients connected", multiprocess_mode="livesum")
WS_MESSAGES = Counter("predhub_ws_messages_total", "WebSocket messages queued", ["type"])
WS_RESYNCS = Counter("predhub_ws_resyncs_total", "Clients told to resync", ["reason"])

MAX_SUBSCRIPTIONS = 1000
TOPICS = ("arbitrage",)  # topics a client can follow besides markets
_RESYNC = b""  # queue sentinel: the writer sends a resync and fresh state


def quote_message(market_id: int, body: bytes) -> bytes:
    return b'{"type":"quote","market_id":' + str(market_id).encode() + b',"data":' + body + b"}"


class Client:
    def __init__(self, ws: WebSocket, queue_size: int) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
        self.markets: set[int] = set()
        self.topics: set[str] = set()
        self.resync_reason: str | None = None

    def push(self, message: bytes) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.resync("slow_consumer")

    def resync(self, reason: str) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.resync_reason = reason
        self.queue.put_nowait(_RESYNC)
        WS_RESYNCS.labels(reason).inc()


class FanOut:
    def __init__(
        self,
        service: MarketDataService,
        listener: Listener,
        *,
        heartbeat: float = 15.0,
        queue_size: int = 256,
        coalesce: float = 0.003,
    ) -> None:
        self.service = service
        self.heartbeat = heartbeat
        self.queue_size = queue_size
        self.coalesce = coalesce
        self.clients: set[Client] = set()
        self.by_market: dict[int, set[Client]] = defaultdict(set)
        self._pending_quotes: set[int] = set()
        self._pending_trades: set[int] = set()
        self._pending_arbitrage: set[int] = set()
        self._trade_marks: dict[int, int] = {}
        self._flusher: asyncio.Task[None] | None = None
        listener.subscribe(self._on_notify)
        listener.on_reset(self._on_reset)

    # ------------------------------------------------------------ notifications
    def _on_notify(self, channel: str, ids: list[int]) -> None:
        if channel == ARBITRAGE_CHANNEL:
            if any("arbitrage" in c.topics for c in self.clients):
                self._pending_arbitrage.update(ids)
                if self._flusher is None or self._flusher.done():
                    self._flusher = asyncio.create_task(self._flush())
            return
        watched = [i for i in ids if i in self.by_market]
        if not watched:
            return
        if channel == QUOTES_CHANNEL:
            self._pending_quotes.update(watched)
        elif channel == TRADES_CHANNEL:
            self._pending_trades.update(watched)
        else:
            return
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    def _on_reset(self) -> None:
        for client in list(self.clients):
            client.resync("notifications_reconnected")

    async def _flush(self) -> None:
        while self._pending_quotes or self._pending_trades or self._pending_arbitrage:
            await asyncio.sleep(self.coalesce)
            quotes, self._pending_quotes = self._pending_quotes, set()
            trades, self._pending_trades = self._pending_trades, set()
            arbitrage, self._pending_arbitrage = self._pending_arbitrage, set()
            try:
                if arbitrage:
                    await self._send_arbitrage(arbitrage)
                if quotes:
                    await self._send_quotes(quotes)
                if trades:
                    await self._send_trades(trades)
            except DatabaseFailure as exc:
                log.warning("api.ws_flush_failed", error=str(exc))
                for market_id in quotes | trades:
                    for client in self.by_market.get(market_id, ()):
                        client.resync("database_error")

    async def _send_quotes(self, market_ids: set[int]) -> None:
        snaps = await self.service.snapshots(market_ids, from_database=True)
        for market_id, snap in snaps.items():
            message = quote_message(market_id, snap.body + b"}")
            for client in self.by_market.get(market_id, ()):
                client.push(message)
                WS_MESSAGES.labels("quote").inc()

    async def _send_arbitrage(self, ids: set[int]) -> None:
        """Each opportunity named, as it now stands: opened (still open) or closed."""
        docs = await self.service.gold.arbitrage_by_ids(sorted(ids))
        followers = [c for c in self.clients if "arbitrage" in c.topics]
        for doc in docs:
            event = "opened" if doc["status"] == "open" else "closed"
            message = orjson.dumps({"type": "arbitrage", "event": event, "data": doc})
            for client in followers:
                client.push(message)
                WS_MESSAGES.labels("arbitrage").inc()

    async def _send_trades(self, market_ids: set[int]) -> None:
        marks = {i: self._trade_marks.get(i, 0) for i in market_ids}
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for trade in await self.service.trades_after(marks):
            grouped[trade.market_id].append(trade.document())
            self._trade_marks[trade.market_id] = max(
                self._trade_marks.get(trade.market_id, 0), trade.id
            )
        for market_id, trades in grouped.items():
            message = orjson.dumps({"type": "trades", "market_id": market_id, "trades": trades})
            for client in self.by_market.get(market_id, ()):
                client.push(message)
                WS_MESSAGES.labels("trades").inc()

    # ------------------------------------------------------------ one client
    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        client = Client(ws, self.queue_size)
        self.clients.add(client)
        WS_CLIENTS.inc()
        writer = asyncio.create_task(self._writer(client))
        try:
            await self._reader(client)
        except WebSocketDisconnect:
            pass
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await writer
            self._drop(client)
            WS_CLIENTS.dec()

    def _drop(self, client: Client) -> None:
        self.clients.discard(client)
        for market_id in client.markets:
            subscribers = self.by_market.get(market_id)
            if subscribers is not None:
                subscribers.discard(client)
                if not subscribers:
                    del self.by_market[market_id]

    async def _writer(self, client: Client) -> None:
        while True:
            try:
                # not asyncio.wait_for: on Python 3.11 it drops a cancel that arrives with
                # a message, and `serve` then waited forever for a writer that wrote on
                async with asyncio.timeout(self.heartbeat):
                    message = await client.queue.get()
            except TimeoutError:
                ts = datetime.now(UTC).isoformat()
                await client.ws.send_text(orjson.dumps({"type": "heartbeat", "ts": ts}).decode())
                continue
            if message == _RESYNC:
                reason = client.resync_reason or "resync"
                await client.ws.send_text(
                    orjson.dumps({"type": "resync", "reason": reason}).decode()
                )
                await self._send_state(client, client.markets)
                continue
            await client.ws.send_text(message.decode())

    async def _send_state(self, client: Client, market_ids: set[int]) -> None:
        if not market_ids:
            return
        snaps = await self.service.snapshots(market_ids)
        for market_id, snap in snaps.items():
            await client.ws.send_text(quote_message(market_id, snap.body + b"}").decode())

    async def _reader(self, client: Client) -> None:
        while True:
            frame = await client.ws.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000))
            data = frame.get("bytes")
            text = frame.get("text") or (data.decode("utf-8", "replace") if data else "")
            if len(text) > 256_000:
                await self._error(client, "too_large", "messages are at most 256 kB")
                continue
            try:
                msg = orjson.loads(text)
            except orjson.JSONDecodeError:
                await self._error(client, "bad_json", "messages are JSON objects")
                continue
            if not isinstance(msg, dict):
                await self._error(client, "bad_message", "messages are JSON objects")
                continue
            op = msg.get("op")
            if op == "ping":
                client.push(b'{"type":"pong"}')
            elif op in ("subscribe", "unsubscribe") and "topics" in msg:
                await self._topics(client, op, msg.get("topics"))
            elif op in ("subscribe", "unsubscribe"):
                await self._subscription(client, op, msg.get("markets"))
            else:
                await self._error(client, "unknown_op", "op is subscribe, unsubscribe or ping")

    async def _topics(self, client: Client, op: str, topics: object) -> None:
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            await self._error(client, "bad_message", "topics is a list of topic names")
            return
        unknown = [t for t in topics if t not in TOPICS]
        if unknown:
            await self._error(
                client, "unknown_topic", f"unknown topics {unknown}; known: {', '.join(TOPICS)}"
            )
            return
        if op == "subscribe":
            client.topics.update(topics)
        else:
            client.topics.difference_update(topics)
        client.push(orjson.dumps({"type": f"{op}d", "topics": sorted(client.topics)}))

    async def _error(self, client: Client, code: str, message: str) -> None:
        client.push(orjson.dumps({"type": "error", "code": code, "message": message}))

    async def _subscription(self, client: Client, op: str, markets: object) -> None:
        if not isinstance(markets, list) or not all(isinstance(m, str | int) for m in markets):
            await self._error(client, "bad_message", "markets is a list of market ids")
            return
        try:
            keys = [validate_id(str(m)) for m in markets]
        except ServiceError as exc:
            await self._error(client, exc.code, exc.message)
            return
        resolved = await self.service.resolve(keys)
        if op == "unsubscribe":
            for market_id in resolved.values():
                client.markets.discard(market_id)
                subscribers = self.by_market.get(market_id)
                if subscribers is not None:
                    subscribers.discard(client)
                    if not subscribers:
                        del self.by_market[market_id]
            client.push(orjson.dumps({"type": "unsubscribed", "markets": resolved}))
            return
        if len(client.markets | set(resolved.values())) > MAX_SUBSCRIPTIONS:
            await self._error(
                client, "too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} markets per client"
            )
            return
        new = set(resolved.values()) - client.markets
        for market_id in new:
            if market_id not in self._trade_marks:
                self._trade_marks[market_id] = await self.service.last_trade_id(market_id)
            client.markets.add(market_id)
            self.by_market[market_id].add(client)
        unknown = [k for k in keys if k not in resolved]
        client.push(orjson.dumps({"type": "subscribed", "markets": resolved, "unknown": unknown}))
        snaps = await self.service.snapshots(new)
        for market_id, snap in snaps.items():
            client.push(quote_message(market_id, snap.body + b"}"))
