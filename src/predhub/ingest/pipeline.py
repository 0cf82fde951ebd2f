"""The loads: what one venue returns, written into bronze and silver.

`Ingestor` is the one way data enters predhub. Every call fetches through the
venue adapter, stores the raw responses in bronze, upserts silver and
quarantines what fails validation, in one transaction per page or batch
(never a commit per row), and returns a `LoadSummary`. Loads started from
the CLI or the scheduler (`static_load`, `delta_load`, `sync_trades`,
`backfill_history`, `resolution_sweep`) are recorded in `ops.loads`.

Notifications for the API's live feeds, sent from the writing statement and
so delivered only when its transaction commits:

- channel ``predhub_quotes``, payload the silver market id as decimal text
  (e.g. ``'1234'``): one per market whose quotes changed in a batch; nothing
  when a refresh found the same prices.
- channel ``predhub_trades``, payload the silver market id as decimal text:
  one per market that gained trades in a batch.

Trade sync stores each page of trades and advances that market's
`trades_watermark` in the same transaction, so a process killed at any point
resumes exactly where its last committed page ended: no trade lost, none
stored twice, no history fetched twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import structlog

from predhub.db.queries import load
from predhub.ingest import runs
from predhub.ingest.catalogue import HistoryReport, history_load
from predhub.ingest.derive import book_quote, fold_quotes, listing_quotes, stream_quotes
from predhub.ingest.progress import LoadProgress
from predhub.ingest.refs import HeldMarket, held_markets, ids_by_native, ref_of
from predhub.ingest.silver.history import HistorySampling
from predhub.ingest.store import Batch, SyncColumn, stamp, write_batch
from predhub.ingest.summary import LoadSummary
from predhub.models import Market, MarketStatus, PricePoint
from predhub.settings import Settings
from predhub.venues.base import (
    Capability,
    Fetched,
    MarketRef,
    NotSupported,
    StreamUpdate,
    Venue,
    VenueError,
)
from predhub.venues.http import REQUEST_GATE

log = structlog.get_logger(__name__)
T = TypeVar("T")

BACKFILL_DAYS = 30
# Markets per batch-quote call: two outcomes each fill one 200-token batch request
# (the largest venue batch endpoints take up to 500); calls run concurrently.
QUOTE_BATCH_MARKETS = 100
BACKFILL_INTERVAL_SECONDS = 3600
_END = object()
_DEADLOCK_ATTEMPTS = 4
_Q = load("ingest")


@dataclass
class _Run:
    """Book-keeping of one load in progress."""

    load_id: int | None
    summary: LoadSummary = field(default_factory=LoadSummary)

    def add(self, part: LoadSummary) -> None:
        self.summary.merge(part)


class Ingestor:
    """Writes what one venue returns into bronze and silver."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        venue: Venue,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.pool = pool
        self.venue = venue
        self.settings = settings
        # When the hub fetched what it writes: the wall clock, or a test's simulated one
        # (history samples and backfill ranges are stamped with it).
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sampling = HistorySampling.from_settings(settings)
        self.name = venue.name
        self.quote_chunk = QUOTE_BATCH_MARKETS
        self.concurrency = max(1, min(settings.http_concurrency, settings.db_pool_max * 4))

    # ------------------------------------------------------------------ plumbing
    @contextlib.asynccontextmanager
    async def _load(self, kind: str | None) -> AsyncIterator[_Run]:
        """Time a load, count its venue traffic and record it in ops.loads (when `kind`).

        The traffic is counted at the HTTP layer's request gate, around any
        gate the caller set (a budget), so it is this load's alone.
        """
        started = time.perf_counter()
        load_id = await runs.begin_load(self.pool, self.name, kind) if kind else None
        run = _Run(load_id)
        run.summary.venue = self.name
        attempts = [0, 0]  # requests sent, of which retries
        outer = REQUEST_GATE.get()

        async def count(attempt: int) -> None:
            if outer is not None:
                await outer(attempt)
            attempts[0] += 1
            attempts[1] += attempt > 0

        token = REQUEST_GATE.set(count)
        error: str | None = None
        try:
            yield run
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            REQUEST_GATE.reset(token)
            run.summary.requests = max(run.summary.requests, attempts[0])
            run.summary.retries = attempts[1]
            run.summary.seconds = time.perf_counter() - started
            if load_id is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(
                        runs.finish_load(self.pool, load_id, run.summary, error=error)
                    )
            log.info(
                "ingest.load_done" if error is None else "ingest.load_failed",
                venue=self.name,
                kind=kind,
                **run.summary.as_dict(),
            )

    async def _write(
        self,
        run: _Run,
        batch: Batch,
        *,
        stamps: Sequence[SyncColumn] = (),
        stamp_native: Sequence[str] = (),
        stamp_ids: Sequence[int] = (),
        after: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    ) -> LoadSummary:
        """Write one batch in one transaction; stamp the markets it synced.

        Concurrent jobs lock markets and quotes in different orders (a load
        writes markets then their quotes; a quotes job writes quotes then
        stamps their markets), so PostgreSQL may pick this transaction as a
        deadlock's victim: it is rolled back whole and simply run again.
        """
        unstored = [raw for raw in batch.all_raw() if raw.bronze_id is None]
        for attempt in range(1, _DEADLOCK_ATTEMPTS + 1):
            now = self.clock()
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    part = await write_batch(
                        conn, batch, load_id=run.load_id, fetched_at=now, sampling=self.sampling
                    )
                    ids = list(stamp_ids)
                    if stamps and stamp_native:
                        ids += (await ids_by_native(conn, self.name, stamp_native)).values()
                    for column in stamps:
                        await stamp(conn, column, ids, now)
                    if after is not None:
                        await after(conn)
                break
            except asyncpg.DeadlockDetectedError:
                if attempt == _DEADLOCK_ATTEMPTS:
                    raise
                for raw in unstored:  # the bronze ids given out were rolled back
                    raw.bronze_id = None
                log.info("ingest.deadlock_retry", venue=self.name, attempt=attempt)
                await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)
        part.requests = len({id(r) for r in batch.raw})
        run.add(part)
        return part

    def _failed(self, run: _Run, what: str, exc: VenueError, **context: Any) -> None:
        run.summary.errors.append(exc)
        log.warning(
            "ingest.venue_call_failed", venue=self.name, call=what, error=str(exc), **context
        )

    async def _bounded(
        self, jobs: Sequence[Callable[[], Awaitable[None]]], limit: int | None = None
    ) -> None:
        """Run jobs with at most `concurrency` (or `limit`, if lower) at once."""
        semaphore = asyncio.Semaphore(min(self.concurrency, limit or self.concurrency))

        async def one(job: Callable[[], Awaitable[None]]) -> None:
            async with semaphore:
                await job()

        await asyncio.gather(*(one(job) for job in jobs))

    @staticmethod
    def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
        return [items[i : i + size] for i in range(0, len(items), size)]

    # ------------------------------------------------------------------ quotes
    async def _fetch_quotes(
        self, run: _Run, refs: Sequence[MarketRef], progress: LoadProgress | None = None
    ) -> None:
        try:
            fetched = linked(await self.venue.quotes(refs))
        except NotSupported:
            return
        except VenueError as exc:
            self._failed(run, "quotes", exc, markets=len(refs))
            return
        await self._write(
            run,
            Batch(raw=fetched.raw, errors=fetched.errors, quotes=fetched.items),
            stamps=("quotes_synced_at",),
            stamp_native=[r.native_id for r in refs],
        )
        if progress is not None:
            progress.advance("quotes", len(refs))

    def _quote_jobs(
        self, run: _Run, refs: Sequence[MarketRef], progress: LoadProgress | None = None
    ) -> list[Callable[[], Awaitable[None]]]:
        if Capability.BATCH_QUOTES not in self.venue.has and not self._has_quotes():
            return []
        if progress is not None:
            progress.grow("quotes", len(refs))
        return [
            functools.partial(self._fetch_quotes, run, chunk, progress)
            for chunk in self._chunks(refs, self.quote_chunk)
        ]

    def _has_quotes(self) -> bool:
        """Whether the adapter overrides `quotes` (some venues quote one market per call)."""
        return type(self.venue).quotes is not Venue.quotes

    # ------------------------------------------------------------------ catalogue
    def _market_batch(self, page: Fetched[Market]) -> Batch:
        """A listing page; its prices only fill gaps when the batch endpoints quote the venue."""
        implied = [q for m in page.items for q in listing_quotes(m)]
        batch = Batch(raw=page.raw, errors=page.errors, markets=page.items, metadata_synced=True)
        if self._has_quotes():
            batch.fill_quotes = implied
        else:
            batch.partial_quotes = implied
        return batch

    async def _load_events(self, run: _Run, progress: LoadProgress) -> None:
        if Capability.LIST_EVENTS not in self.venue.has:
            return
        try:
            async for events_page in self.venue.list_events():
                page = linked(events_page)
                await self._write(run, Batch(raw=page.raw, errors=page.errors, events=page.items))
                progress.advance("events", len(page.items))
        except VenueError as exc:
            self._failed(run, "list_events", exc)

    async def _catalogue(
        self,
        run: _Run,
        *,
        since: datetime | None,
        active_only: bool,
        progress: LoadProgress,
        changed_only: bool = False,
        events: bool = True,
    ) -> str | None:
        """List markets and write them page by page while the next pages are fetched.

        Quote fetches for each written page's open markets (with `changed_only`,
        only those whose silver rows changed) start at once and overlap the rest
        of the listing. Returns the listing's watermark (for deltas).
        """
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=8)
        events_done = asyncio.create_task(
            self._load_events(run, progress) if events else asyncio.sleep(0)
        )
        watermark: str | None = None
        newest: datetime | None = None
        quote_tasks: list[asyncio.Task[None]] = []

        async def produce() -> None:
            try:
                async for page in self.venue.list_markets(since=since, active_only=active_only):
                    await queue.put(linked(page))
            finally:
                await queue.put(_END)

        producer = asyncio.create_task(produce())
        try:
            await events_done  # markets then link to full events, not placeholders
            while (page := await queue.get()) is not _END:
                if page.watermark is not None:
                    watermark = page.watermark
                for m in page.items:
                    if m.updated_at is not None and (newest is None or m.updated_at > newest):
                        newest = m.updated_at
                part = await self._write(run, self._market_batch(page))
                progress.advance("markets", len(page.items))
                wanted = [ref_of(m) for m in page.items if m.status == MarketStatus.OPEN]
                if changed_only:
                    ids = await ids_by_native(self.pool, self.name, [r.native_id for r in wanted])
                    wanted = [r for r in wanted if ids.get(r.native_id) in part.markets]
                jobs = self._quote_jobs(run, wanted, progress)
                quote_tasks.append(asyncio.create_task(self._bounded(jobs)))
            await producer
        except BaseException:
            producer.cancel()
            for task in quote_tasks:
                task.cancel()
            raise
        finally:
            if not events_done.done():
                events_done.cancel()
        await asyncio.gather(*quote_tasks)
        if watermark is None and newest is not None:
            watermark = newest.isoformat()
        return watermark

    async def static_load(self, *, progress: bool = False) -> LoadSummary:
        """The whole active catalogue (events, markets), then quotes for every active market."""
        with LoadProgress(progress) as bars:
            async with self._load("static") as run:
                try:
                    watermark = await self._catalogue(
                        run,
                        since=None,
                        active_only=True,
                        progress=bars,
                    )
                except VenueError as exc:
                    self._failed(run, "list_markets", exc)
                    raise
                if watermark is not None:
                    await runs.set_watermark(self.pool, self.name, "delta", watermark)
            return run.summary

    async def delta_load(self, *, progress: bool = False) -> LoadSummary:
        """Markets changed since the last watermark, plus quotes for the open ones."""
        with LoadProgress(progress) as bars:
            async with self._load("delta") as run:
                previous = await runs.get_watermark(self.pool, self.name, "delta")
                since = _parse_time(previous) if previous else None
                incremental = Capability.MARKETS_SINCE in self.venue.has and since is not None

                watermark = await self._catalogue(
                    run,
                    since=since if incremental else None,
                    active_only=not incremental,
                    progress=bars,
                    changed_only=not incremental,  # a full listing stands in for the delta
                    events=not incremental,  # new events arrive as placeholders until static
                )
                if watermark is not None:
                    await runs.set_watermark(self.pool, self.name, "delta", watermark)
            return run.summary

    # ------------------------------------------------------------------ targeted refreshes
    async def market_refs(self, market_ids: Sequence[int]) -> list[MarketRef]:
        """How the venue addresses these silver markets (unknown ids are skipped)."""
        return [h.ref for h in await held_markets(self.pool, self.name, market_ids)]

    async def refresh_quotes(self, market_ids: Sequence[int]) -> LoadSummary:
        """Current quotes for these markets through the batch endpoints; stamps quotes_synced_at."""
        async with self._load(None) as run:
            refs = await self.market_refs(market_ids)
            await self._bounded(self._quote_jobs(run, refs))
        return run.summary

    async def discover(self, key: str) -> tuple[list[int], LoadSummary]:
        """Load the markets an id names at the venue, for a market never loaded; their ids.

        Written as any load writes them: the markets (with bronze and the
        listing's prices), then their quotes through the batch endpoints.
        Venue errors propagate: the caller says why the market is unknown.
        """
        async with self._load(None) as run:
            fetched = linked(await self.venue.find_markets(key))
            if fetched.raw:
                await self._write(run, self._market_batch(fetched))
            found = await ids_by_native(self.pool, self.name, [m.native_id for m in fetched.items])
            ids = sorted(found.values())
            if ids:
                await self._bounded(self._quote_jobs(run, await self.market_refs(ids)))
        return ids, run.summary

    async def refresh_markets(self, market_ids: Sequence[int]) -> LoadSummary:
        """Metadata, status and resolution (and the listing's prices); stamps metadata_synced_at."""
        async with self._load(None) as run:
            await self._refresh_markets(run, market_ids)
        return run.summary

    async def _refresh_markets(self, run: _Run, market_ids: Sequence[int]) -> None:
        held = await held_markets(self.pool, self.name, market_ids)

        async def one(chunk: Sequence[HeldMarket]) -> None:
            try:
                fetched = linked(await self.venue.markets_by_id([h.ref for h in chunk]))
            except NotSupported:
                return
            except VenueError as exc:
                self._failed(run, "markets_by_id", exc, markets=len(chunk))
                return
            await self._write(run, self._market_batch(fetched))

        await self._bounded(
            [functools.partial(one, chunk) for chunk in self._chunks(held, self.quote_chunk)]
        )

    async def refresh_books(self, market_ids: Sequence[int]) -> LoadSummary:
        """Order book snapshots (and the best prices they imply); stamps books_synced_at."""
        async with self._load(None) as run:
            held = await held_markets(self.pool, self.name, market_ids)

            async def one(chunk: Sequence[HeldMarket]) -> None:
                try:
                    fetched = linked(await self.venue.order_books([h.ref for h in chunk]))
                except NotSupported:
                    return
                except VenueError as exc:
                    self._failed(run, "order_books", exc, markets=len(chunk))
                    return
                implied = [q for b in fetched.items if (q := book_quote(b)) is not None]
                await self._write(
                    run,
                    Batch(
                        raw=fetched.raw,
                        errors=fetched.errors,
                        books=fetched.items,
                        partial_quotes=implied,
                    ),
                    stamps=("books_synced_at",),
                    stamp_ids=[h.id for h in chunk],
                )

            await self._bounded(
                [functools.partial(one, chunk) for chunk in self._chunks(held, self.quote_chunk)]
            )
        return run.summary

    # ------------------------------------------------------------------ trades
    async def sync_trades(self, market_ids: Sequence[int]) -> LoadSummary:
        """New trades of each market since its watermark, one transaction per page."""
        async with self._load("trades" if len(market_ids) > 1 else None) as run:
            await self._sync_trades(run, market_ids)
        return run.summary

    async def _sync_trades(self, run: _Run, market_ids: Sequence[int]) -> None:
        if Capability.TRADES not in self.venue.has:
            return
        held = await held_markets(self.pool, self.name, market_ids)
        await self._bounded([functools.partial(self._market_trades, run, h) for h in held])

    def bulk_history(self) -> int:
        """Markets per `price_histories` call, or 0 when the venue reads one market a call."""
        if type(self.venue).price_histories is Venue.price_histories:
            return 0
        return self.venue.bulk_history_markets

    def bulk_trades(self) -> int:
        """Markets per `trades_of_markets` call, or 0 when the venue reads one market a call."""
        if type(self.venue).trades_of_markets is Venue.trades_of_markets:
            return 0
        return self.venue.bulk_trades_markets

    async def _markets_trades(self, run: _Run, markets: Sequence[HeldMarket]) -> None:
        """All trades of never-synced markets at once: one transaction, every watermark set."""
        try:
            got = await self.venue.trades_of_markets([h.ref for h in markets])
        except NotSupported:
            for market in markets:
                await self._market_trades(run, market)
            return
        except VenueError as exc:
            self._failed(run, "trades_of_markets", exc, markets=len(markets))
            return
        fetched = linked(got.fetched)
        ids = [h.id for h in markets]
        marks = [got.watermarks.get(h.ref.native_id) for h in markets]

        async def advance(conn: asyncpg.Connection) -> None:
            await conn.execute(_Q.advance_trades_many, ids, marks)

        await self._write(
            run,
            Batch(raw=fetched.raw, errors=fetched.errors, trades=fetched.items),
            after=advance,
        )

    async def _market_trades(self, run: _Run, market: HeldMarket) -> None:
        pages = 0
        try:
            async for trades_page in self.venue.trades_since(market.ref, market.trades_watermark):
                page = linked(trades_page)
                pages += 1
                await self._write(
                    run,
                    Batch(raw=page.raw, errors=page.errors, trades=page.items),
                    after=_advance_trades(market.id, page.watermark),
                )
        except NotSupported:
            return
        except VenueError as exc:
            self._failed(run, "trades_since", exc, market=market.ref.native_id)
            return
        if not pages:
            async with self.pool.acquire() as conn:
                await stamp(conn, "trades_synced_at", [market.id], datetime.now(UTC))

    # ------------------------------------------------------------------ history
    async def backfill_history(
        self, market_ids: Sequence[int] | None = None, *, days: float = BACKFILL_DAYS
    ) -> LoadSummary:
        """Price history, and trades, of markets never synced.

        Each market is marked done in its own transaction (history_synced_at;
        trades_synced_at with each trades page), so an interrupted backfill
        resumes with the markets still missing.
        """
        async with self._load("backfill") as run:
            if market_ids is None:
                # Trades first: they are cheap (one page for most markets), and
                # markets listed but never traded-synced would otherwise wait
                # for the scheduler's trades cadence.
                rows = await self.pool.fetch(_Q.markets_never_trades_synced, self.name)
                await self._sync_trades(run, [r["id"] for r in rows])
            if Capability.PRICE_HISTORY not in self.venue.has:
                return run.summary
            if market_ids is None:
                rows = await self.pool.fetch(_Q.markets_never_history_synced, self.name)
                market_ids = [r["id"] for r in rows]
            held = await held_markets(self.pool, self.name, market_ids)
            end = self.clock()
            start = end - timedelta(days=days)

            async def one(market: HeldMarket) -> None:
                try:
                    fetched = await self._history(
                        market.ref,
                        start=start,
                        end=end,
                        interval_seconds=BACKFILL_INTERVAL_SECONDS,
                    )
                except NotSupported:
                    return
                except VenueError as exc:
                    self._failed(run, "price_history", exc, market=market.ref.native_id)
                    return
                await self._write(
                    run,
                    Batch(raw=fetched.raw, errors=fetched.errors, points=fetched.items),
                    stamps=("history_synced_at",),
                    stamp_ids=[market.id],
                )

            await self._bounded([functools.partial(one, h) for h in held])
        return run.summary

    async def _history(
        self, ref: MarketRef, *, start: datetime, end: datetime, interval_seconds: int
    ) -> Fetched[PricePoint]:
        return linked(
            await self.venue.price_history(
                ref, start=start, end=end, interval_seconds=interval_seconds
            )
        )

    # ------------------------------------------------------------------ complete catalogue
    async def history_load(
        self,
        *,
        since: datetime | None = None,
        progress: bool = False,
        max_pages: int | None = None,
    ) -> tuple[LoadSummary, HistoryReport]:
        """Closed and resolved markets with their trades and price history (resumable).

        See `predhub.ingest.catalogue`; `max_pages` bounds one run (the
        worker's background walk), the stored checkpoint carries it on.
        """
        with LoadProgress(progress) as bars:
            async with self._load("history") as run:
                report = await history_load(
                    self,
                    run,
                    since=since,
                    bars=bars,
                    max_pages=max_pages,
                    history_days=self.settings.history_load_days,
                )
            return run.summary, report

    async def background_history(self) -> LoadSummary:
        """The worker's slow walk: HISTORY_LOAD_PAGES pages from the checkpoint, if supported."""
        if Capability.CLOSED_MARKETS not in self.venue.has:
            return LoadSummary(venue=self.name)
        summary, _report = await self.history_load(max_pages=self.settings.history_load_pages)
        return summary

    # ------------------------------------------------------------------ resolution
    async def resolution_sweep(self) -> LoadSummary:
        """Re-read recently closed markets (and open ones past their end) until final."""
        async with self._load("sweep") as run:
            rows = await self.pool.fetch(
                _Q.markets_to_sweep,
                self.name,
                timedelta(days=self.settings.recently_closed_days),
            )
            await self._refresh_markets(run, [r["id"] for r in rows])
        return run.summary

    # ------------------------------------------------------------------ live stream
    async def apply_stream_update(self, update: StreamUpdate) -> LoadSummary:
        """Quotes, trades and books from a live stream (the caller batches messages).

        A batch of several messages comes with its quotes folded in message order
        (`derive.stream_quotes`, `derive.fold_quotes`); a quote it states outright
        wins over its books' best levels.
        """
        async with self._load(None) as run:
            await self._write(
                run,
                Batch(
                    raw=[update.raw] if update.raw is not None else [],
                    partial_quotes=fold_quotes(stream_quotes(update.books, update.quotes)),
                    trades=update.trades,
                    books=update.books,
                    streamed=True,
                ),
            )
        return run.summary


def linked(fetched: Fetched[T]) -> Fetched[T]:
    """Point items the adapter left unlinked at the response they came from (the first one)."""
    if fetched.raw:
        for item in fetched.items:
            if getattr(item, "raw", False) is None:
                item.raw = fetched.raw[0]  # type: ignore[attr-defined]
        for error in fetched.errors:
            if error.raw is None:
                error.raw = fetched.raw[0]
    return fetched


def _advance_trades(
    market_id: int, watermark: str | None
) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    async def advance(conn: asyncpg.Connection) -> None:
        await conn.execute(_Q.advance_trades, market_id, watermark)

    return advance


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
