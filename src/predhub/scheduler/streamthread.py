"""Live streams on a thread of their own, so job work cannot hold their messages up.

On the worker's event loop a stream message waits for every ready job step
ahead of it (parsing a listing page, folding a batch of trades): under CPU
contention that is where streamed quotes lose their seconds. Here the stream
consumers run on one thread with its own event loop, database pool and venue
adapters; while the job loop holds the interpreter, the stream thread gets it
back within the interpreter's switch interval (5 ms) instead of after the
job's step. A thread rather than a process keeps the stream counters
(`predhub_stream_resyncs_total`) in the process the worker's metrics exporter
serves, and stops with the worker: `stop()` sets the thread loop's stop event,
the consumers flush and close their sockets, and the thread is joined.

The thread's adapters are its own (an adapter's HTTP client and rate
buckets belong to one event loop), so a resync's REST reads are paced by
their own buckets; they are few, and every request still counts in the
venue's shared minute budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence

import structlog

from predhub.db.connect import close_pool, create_pool
from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.streams import StreamConsumer
from predhub.settings import Settings
from predhub.tasks import cancel_and_wait
from predhub.venues.base import Venue, VenueError

log = structlog.get_logger(__name__)

BuildVenue = Callable[[str, Settings], Venue]
STOP_GRACE_SECONDS = 10.0


class StreamThread:
    """The stream consumers of `venues` on a thread with its own loop (start, then stop)."""

    def __init__(
        self, settings: Settings, url: str, venues: Sequence[str], build: BuildVenue
    ) -> None:
        self.settings = settings
        self.url = url
        self.venues = list(venues)
        self.build = build
        self.consumers: list[StreamConsumer] = []
        self._thread = threading.Thread(target=self._main, name="predhub-streams", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._running = threading.Event()  # set once `_stop` exists (or the thread gave up)

    def start(self) -> None:
        self._thread.start()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception as exc:  # the worker goes on polling; the log says why
            log.error("streams.thread_failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._running.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        stop = self._stop = asyncio.Event()
        self._running.set()
        adapters: list[Venue] = []
        pool = await create_pool(self.url, min_size=1, max_size=max(2, 2 * len(self.venues) + 1))
        try:
            for name in self.venues:
                try:
                    adapter = self.build(name, self.settings)
                except (KeyError, ValueError, VenueError) as exc:
                    log.warning("streams.venue_unavailable", venue=name, error=str(exc))
                    continue
                adapters.append(adapter)
                if adapter.can_stream():
                    ingestor = Ingestor(pool, adapter, self.settings)
                    self.consumers.append(StreamConsumer(pool, adapter, ingestor, self.settings))
            tasks = [
                asyncio.create_task(c.run(stop), name=f"predhub-stream-{c.name}")
                for c in self.consumers
            ]
            log.info("streams.thread_start", venues=[c.name for c in self.consumers])
            await stop.wait()
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
                await asyncio.gather(*(cancel_and_wait(task) for task in pending))
        finally:
            for adapter in adapters:
                with contextlib.suppress(VenueError, OSError, RuntimeError):
                    await adapter.close()
            await close_pool(pool)  # bounded: the database may have gone or frozen
            log.info("streams.thread_stop")

    def stop(self, timeout: float = STOP_GRACE_SECONDS + 5) -> None:
        """Ask the consumers to stop and wait for the thread (callable from any thread)."""
        if not self._thread.is_alive():
            return
        self._running.wait(timeout)
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("streams.thread_still_running", seconds=timeout)

    async def stopped(self) -> None:
        """`stop()` without blocking the caller's event loop."""
        await asyncio.to_thread(self.stop)
