"""Live streams: high-priority markets of WebSocket venues, written as they arrive.

A `StreamConsumer` subscribes to the venue's high-priority open markets, reads
the stream in a producer task (so a timeout never cancels the socket's own
read), and writes what arrives through ingestion in batches: every
`flush_seconds` or `max_batch` items, whichever comes first. While messages
flow, the subscribed markets' quotes count as fresh (stamped every half
high-priority cadence), so the planner does not poll them too.

Trouble turns into a REST resync, never a silent gap: when the adapter flags
a gap (`StreamUpdate.resync`), when the socket is silent for
`ws_silence_seconds`, or when it drops, the consumer re-reads the markets'
quotes over REST and marks their trades as never synced so the planner fetches
them first from their watermarks; then it resubscribes. The subscription
follows the high-priority set as priorities change.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
import structlog

from predhub.db.queries import load
from predhub.ingest.refs import held_markets
from predhub.scheduler.runner import IngestorLike
from predhub.settings import Settings
from predhub.venues.base import StreamUpdate, Venue, VenueError
from predhub.venues.metrics import VENUE_METRICS

_Q = load("scheduler_worker")

log = structlog.get_logger(__name__)

_END = object()
MAX_SUBSCRIBED = 500

_HIGH = _Q.high_priority_markets


def merge(updates: Sequence[StreamUpdate]) -> StreamUpdate:
    """Many stream messages as one write (their raw frames stay in bronze via items)."""
    out = StreamUpdate()
    for u in updates:
        out.quotes.extend(u.quotes)
        out.trades.extend(u.trades)
        out.books.extend(u.books)
    return out


class StreamConsumer:
    """Keeps one venue's high-priority markets streaming into silver."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        venue: Venue,
        ingestor: IngestorLike,
        settings: Settings,
        *,
        flush_seconds: float | None = None,
        max_batch: int = 500,
        recheck_seconds: float = 30.0,
    ) -> None:
        self.pool = pool
        self.venue = venue
        self.name = venue.name
        self.ingestor = ingestor
        self.settings = settings
        self.flush_seconds = (
            settings.stream_flush_seconds if flush_seconds is None else flush_seconds
        )
        self.max_batch = max_batch
        self.recheck_seconds = recheck_seconds
        self.silence_seconds = settings.ws_silence_seconds
        self.stamp_seconds = settings.high_quotes_interval_seconds / 2
        self.resyncs = 0
        self.written = 0

    async def high_markets(self) -> list[int]:
        rows = await self.pool.fetch(_HIGH, self.name, MAX_SUBSCRIBED)
        return [r["id"] for r in rows]

    async def resync(self, market_ids: Sequence[int], reason: str) -> None:
        """Re-read quotes over REST now; queue the trades for the planner, first in line."""
        self.resyncs += 1
        VENUE_METRICS.stream_resync(self.name, reason.split(":", 1)[0])
        log.info("stream.resync", venue=self.name, markets=len(market_ids), reason=reason)
        await self.pool.execute(
            _Q.forget_trades_synced,
            list(market_ids),
        )
        try:
            await self.ingestor.refresh_quotes(list(market_ids))
        except VenueError as exc:
            log.warning("stream.resync_failed", venue=self.name, error=str(exc))
            await self.pool.execute(
                _Q.forget_quotes_synced,
                list(market_ids),
            )

    async def _flush(self, buffer: list[StreamUpdate]) -> None:
        if not buffer:
            return
        batch = merge(buffer)
        buffer.clear()
        summary = await self.ingestor.apply_stream_update(batch)
        self.written += summary.written

    async def _stamp(self, market_ids: Sequence[int]) -> None:
        await self.pool.execute(
            _Q.stamp_quotes_synced,
            list(market_ids),
            datetime.now(UTC),
        )

    async def consume(self, market_ids: Sequence[int], stop: asyncio.Event) -> str:
        """Stream these markets until stop, trouble or a changed set; returns why it ended."""
        refs = [h.ref for h in await held_markets(self.pool, self.name, market_ids)]
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=10_000)

        async def produce() -> None:
            try:
                async for update in self.venue.stream(refs):
                    await queue.put(update)
            except (VenueError, OSError) as exc:
                await queue.put(exc)
            finally:
                await queue.put(_END)

        producer = asyncio.create_task(produce(), name=f"predhub-stream-{self.name}")
        buffer: list[StreamUpdate] = []
        items = 0
        last_message = last_flush = last_stamp = time.monotonic()
        recheck_at = last_message + self.recheck_seconds
        try:
            while not stop.is_set():
                now = time.monotonic()
                wait = min(
                    self.flush_seconds - (now - last_flush),
                    self.silence_seconds - (now - last_message),
                    recheck_at - now,
                )
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=max(0.01, wait))
                except TimeoutError:
                    item = None
                now = time.monotonic()
                if item is _END or isinstance(item, BaseException):
                    await self._flush(buffer)
                    await self.resync(market_ids, f"ended: {item!r}"[:200])
                    return "ended"
                if isinstance(item, StreamUpdate):
                    last_message = now
                    if item.resync:
                        await self._flush(buffer)
                        await self.resync(market_ids, item.reason or "unknown")
                        items = 0
                        continue
                    buffer.append(item)
                    items += len(item.quotes) + len(item.trades) + len(item.books)
                if now - last_message >= self.silence_seconds:
                    await self._flush(buffer)
                    await self.resync(market_ids, "silent")
                    return "silent"
                if items >= self.max_batch or now - last_flush >= self.flush_seconds:
                    await self._flush(buffer)
                    items, last_flush = 0, now
                if now - last_stamp >= self.stamp_seconds:
                    await self._stamp(market_ids)
                    last_stamp = now
                if now >= recheck_at:
                    recheck_at = now + self.recheck_seconds
                    if set(await self.high_markets()) != set(market_ids):
                        await self._flush(buffer)
                        return "changed"
            await self._flush(buffer)
            return "stopped"
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, VenueError, OSError):
                await producer

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the high-priority set until `stop`; back off while the venue fails."""
        failures = 0
        while not stop.is_set():
            try:
                ids = await self.high_markets()
                if not ids:
                    reason = "idle"
                else:
                    log.info("stream.subscribe", venue=self.name, markets=len(ids))
                    reason = await self.consume(ids, stop)
            except (VenueError, OSError, asyncpg.PostgresError) as exc:
                reason = f"error: {exc}"
            failures = (
                failures + 1 if reason in ("ended", "silent") or reason.startswith("error") else 0
            )
            pause = self.recheck_seconds if reason == "idle" else min(60.0, 2.0**failures)
            if reason != "stopped":
                log.info("stream.pause", venue=self.name, reason=reason, seconds=pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
