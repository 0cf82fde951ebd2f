"""Live streams: high-priority markets of WebSocket venues, written as they arrive.

A `StreamConsumer` subscribes to the venue's high-priority open markets, reads
the stream in a producer task (so a timeout never cancels the socket's own
read), and writes what arrives through ingestion in batches: every
`flush_seconds` or `max_batch` items, whichever comes first. While messages
flow, the subscribed markets' quotes count as fresh (stamped every half
high-priority cadence), so the planner does not poll them too.

Trouble turns into a REST resync, never a silent gap: when the adapter flags
a gap, a dead peer or a drop (`StreamUpdate.resync`), the consumer re-reads
the markets' quotes over REST and marks their trades as never synced so the
planner fetches them first from their watermarks; then it resubscribes. A
quiet feed is not trouble: the adapter passes the venue's pings and pongs on
as empty updates, and the markets stay the stream's. Should an adapter yield
nothing at all for twice `ws_silence_seconds` (its own window, plus margin),
the consumer resyncs and resubscribes by itself. The subscription
follows the high-priority set: the priority recompute announces a change of
it (`predhub_high_markets`, with the venue's name) and the consumer subscribes
the new set at once, beside the old subscription until the new one speaks
(a recheck every `recheck_seconds` covers a lost notification).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from predhub.db.queries import load
from predhub.ingest.derive import fold_quotes, stream_quotes
from predhub.ingest.refs import held_markets
from predhub.scheduler.runner import IngestorLike
from predhub.settings import Settings
from predhub.venues.base import MarketRef, StreamUpdate, Venue, VenueError
from predhub.venues.metrics import VENUE_METRICS

_Q = load("scheduler_worker")

log = structlog.get_logger(__name__)

_END = object()
_CHANGED = object()
HIGH_CHANNEL = "predhub_high_markets"  # recompute_priorities: the venue's high set changed
MAX_SUBSCRIBED = 500

_HIGH = _Q.high_priority_markets


def merge(updates: Sequence[StreamUpdate]) -> StreamUpdate:
    """Many stream messages as one write (their raw frames stay in bronze via items).

    Each outcome's quotes are folded in message order, so a price one message
    states is not lost to a later message that states another (the writer
    keeps one row per outcome from a batch).
    """
    out = StreamUpdate()
    for u in updates:
        out.trades.extend(u.trades)
        out.books.extend(u.books)
    out.quotes = fold_quotes(q for u in updates for q in stream_quotes(u.books, u.quotes))
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
        # the adapter notices a dead peer after `silence_seconds`; this is the backstop
        self.backstop_seconds = 2 * settings.ws_silence_seconds
        self.stamp_seconds = settings.high_quotes_interval_seconds / 2
        self.resyncs = 0
        self.written = 0
        self.subscribed: frozenset[int] = frozenset()  # the markets streamed now
        self._queue: asyncio.Queue[tuple[int, object]] | None = None
        self._wake = asyncio.Event()  # set by a notification that the high set changed

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
        """The markets' quotes are fresh, and the stream's until a little past the next stamp."""
        now = datetime.now(UTC)
        until = now + timedelta(seconds=2 * self.stamp_seconds + self.silence_seconds)
        await self.pool.execute(_Q.stamp_quotes_synced, list(market_ids), now, until)

    def _covered(self, update: StreamUpdate, native: dict[str, int]) -> set[int]:
        """Our ids of the markets an update speaks of."""
        names = [
            *(q.market_native_id for q in update.quotes),
            *(b.market_native_id for b in update.books),
            *(t.market_native_id for t in update.trades),
        ]
        return {native[n] for n in names if n in native}

    async def _refs(self, market_ids: Sequence[int]) -> tuple[list[MarketRef], dict[str, int]]:
        held = await held_markets(self.pool, self.name, market_ids)
        return [h.ref for h in held], {h.ref.native_id: h.id for h in held}

    async def consume(self, market_ids: Sequence[int], stop: asyncio.Event) -> str:
        """Stream these markets until stop or trouble, following the high-priority set.

        When the set changes (a notification, or the periodic recheck), a new
        subscription starts beside the current one, and the old one is closed
        once the new one has spoken: no moment without a stream, so no trade is
        missed in between (both may carry one; trades are keyed by the venue's
        id). Only markets the stream has spoken of are stamped fresh: a market
        the venue's feed does not serve (one without a book, say) stays polled.
        """
        queue: asyncio.Queue[tuple[int, object]] = asyncio.Queue(maxsize=10_000)
        producers: dict[int, tuple[asyncio.Task[None], list[int]]] = {}
        generation = 0

        def produce(gen: int, refs: Sequence[MarketRef]) -> asyncio.Task[None]:
            async def run() -> None:
                try:
                    async for update in self.venue.stream(refs):
                        await queue.put((gen, update))
                except (VenueError, OSError) as exc:
                    await queue.put((gen, exc))
                finally:
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait((gen, _END))

            return asyncio.create_task(run(), name=f"predhub-stream-{self.name}-{gen}")

        refs, native = await self._refs(market_ids)
        market_ids = list(market_ids)
        producers[generation] = (produce(generation, refs), market_ids)
        self.subscribed = frozenset(market_ids)
        self._queue = queue
        covered: set[int] = set()  # markets the stream has spoken of
        stamped: set[int] = set()  # those stamped as the stream's at the last stamp
        buffer: list[StreamUpdate] = []
        items = 0
        last_message = last_flush = last_stamp = last_newcomers = time.monotonic()
        recheck_at = last_message + self.recheck_seconds
        try:
            while not stop.is_set():
                now = time.monotonic()
                wait = min(
                    self.flush_seconds - (now - last_flush),
                    self.backstop_seconds - (now - last_message),
                    recheck_at - now,
                )
                try:
                    gen, item = await asyncio.wait_for(queue.get(), timeout=max(0.01, wait))
                except TimeoutError:
                    gen, item = -1, None
                now = time.monotonic()
                if item is _CHANGED or now >= recheck_at:
                    recheck_at = now + self.recheck_seconds
                    wanted = await self.high_markets()
                    if not wanted:
                        await self._flush(buffer)
                        return "changed"
                    if set(wanted) != set(producers[generation][1]):
                        generation += 1
                        refs, more = await self._refs(wanted)
                        native.update(more)
                        producers[generation] = (produce(generation, refs), wanted)
                        log.info("stream.resubscribe", venue=self.name, markets=len(wanted))
                    if item is _CHANGED:
                        continue
                if item is not None and gen not in producers:
                    continue  # a closed subscription's last words
                if item is _END or isinstance(item, BaseException):
                    if gen != generation:  # an old subscription ended while switching
                        producers.pop(gen)
                        continue
                    await self._flush(buffer)
                    await self.resync(market_ids, f"ended: {item!r}"[:200])
                    return "ended"
                if isinstance(item, StreamUpdate):
                    last_message = now
                    if gen == generation and len(producers) > 1:
                        for old in [g for g in producers if g != gen]:
                            producers.pop(old)[0].cancel()
                        market_ids = producers[gen][1]
                        self.subscribed = frozenset(market_ids)
                        covered &= self.subscribed
                    if item.resync:
                        await self._flush(buffer)
                        await self.resync(producers[gen][1], item.reason or "unknown")
                        items = 0
                        stamped = set()  # the resync gave the quotes back to REST
                        continue
                    if item.raw is not None or item.quotes or item.trades or item.books:
                        covered |= self._covered(item, native)
                        buffer.append(item)
                        items += len(item.quotes) + len(item.trades) + len(item.books)
                if now - last_message >= self.backstop_seconds:
                    await self._flush(buffer)
                    await self.resync(market_ids, "silent")
                    return "silent"
                if items >= self.max_batch or now - last_flush >= self.flush_seconds:
                    await self._flush(buffer)
                    items, last_flush = 0, now
                if covered and now - last_stamp >= self.stamp_seconds:
                    stamped = covered & self.subscribed
                    await self._stamp(sorted(stamped))
                    last_stamp = now
                elif not covered <= stamped and now - last_newcomers >= 1.0:
                    newcomers = (covered - stamped) & self.subscribed  # first heard of
                    stamped |= newcomers
                    await self._stamp(sorted(newcomers))
                    last_newcomers = now
            await self._flush(buffer)
            return "stopped"
        finally:
            self._queue = None
            for task, _ids in producers.values():
                task.cancel()
            for task, _ids in producers.values():
                with contextlib.suppress(asyncio.CancelledError, VenueError, OSError):
                    await task

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        """The high-priority set of some venue changed: ours? look again now."""
        if payload != self.name:
            return
        self._wake.set()  # an idle consumer looks at once
        if self._queue is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait((-1, _CHANGED))

    async def _listen(self) -> asyncpg.Connection | None:
        """A connection listening for changes of the high-priority set (None: timer only)."""
        try:
            conn: asyncpg.Connection = await self.pool.acquire()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("stream.listen_failed", venue=self.name, error=str(exc))
            return None
        try:
            await conn.add_listener(HIGH_CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("stream.listen_failed", venue=self.name, error=str(exc))
            await self.pool.release(conn)
            return None
        return conn

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the high-priority set until `stop`; back off while the venue fails."""
        listener = await self._listen()
        try:
            await self._run(stop)
        finally:
            if listener is not None:
                with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await listener.remove_listener(HIGH_CHANNEL, self._notified)
                with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await self.pool.release(listener)

    async def _run(self, stop: asyncio.Event) -> None:
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
                self._wake.clear()
                waits = [asyncio.ensure_future(stop.wait())]
                if reason == "idle":  # markets becoming high priority end the wait
                    waits.append(asyncio.ensure_future(self._wake.wait()))
                _, pending = await asyncio.wait(
                    waits, timeout=pause, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending:
                    waiter.cancel()
