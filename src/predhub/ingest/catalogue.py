"""The complete catalogue: every closed and resolved market a venue still lists, with history.

`history_load` walks the venue's closed listing (`Venue.closed_markets`)
page by page. Each page is written like any listing page (bronze, silver,
quarantine for malformed items), then the trades and the price history of
its markets that still lack them are read, and only then is the page's
resume cursor stored in `ops.sync_state` (kind `history`). A run killed at
any point therefore starts again at the first page whose work was not
finished: markets are upserts, trades resume from each market's own
watermark, price history is stamped per market, so nothing is fetched into
silver twice and nothing is lost.

What a page costs: its markets' trades are read together where the venue
takes several markets a request (`Venue.trades_of_markets`, a hundred
markets a request against one each otherwise), and so are their price
histories (`Venue.price_histories`: a batch history endpoint, a hundred
markets a request; the markets it does not serve are read one each); the rest
are fetched side by side, up to HISTORY_LOAD_CONCURRENCY requests in flight,
paced by the venue's own rate limits, and written fifty markets to a
transaction. On the venues' documented limits what is read a market (or an
outcome token) a request is then what bounds the load.

A completed walk remembers when it started; the next walk without `--since`
reads only markets that closed after that (less a day of slack), so a
background run costs what changed, not the catalogue's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from predhub.db.queries import load
from predhub.ingest import runs
from predhub.ingest.progress import LoadProgress
from predhub.ingest.refs import HeldMarket, held_markets, ids_by_native
from predhub.ingest.store import Batch
from predhub.ingest.summary import LoadSummary
from predhub.models import Market, PricePoint
from predhub.venues.base import (
    Capability,
    Fetched,
    HistoryWindow,
    MarketRef,
    NotSupported,
    VenueError,
)

if TYPE_CHECKING:
    from predhub.ingest.pipeline import Ingestor, _Run

CHECKPOINT_KIND = "history"
# Daily points: a closed market's whole life in a few dozen points per outcome (daily
# candles where the venue has them) rather than thousands of hourly ones.
HISTORY_INTERVAL_SECONDS = 86_400
SINCE_SLACK = timedelta(days=1)  # markets may be listed as closed a little after they end
_PREFETCH_PAGES = 2
HISTORY_WRITE_MARKETS = 50  # price histories per transaction (see `_HistoryWriter`)
_Q = load("ingest")


@dataclass(slots=True)
class Checkpoint:
    """Where a history walk stands, stored as JSON in `ops.sync_state`."""

    cursor: str | None = None  # resume after this (None: the walk starts at the beginning)
    since: str | None = None  # the walk's lower bound on close time (ISO), if any
    started_at: str | None = None  # when the walk in progress began
    completed_from: str | None = None  # when the last complete walk began

    @classmethod
    def parse(cls, text: str | None) -> Checkpoint:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        return cls(**{k: data.get(k) for k in ("cursor", "since", "started_at", "completed_from")})

    def dumps(self) -> str:
        return json.dumps(
            {
                "cursor": self.cursor,
                "since": self.since,
                "started_at": self.started_at,
                "completed_from": self.completed_from,
            }
        )


@dataclass
class HistoryReport:
    """What one history run did, beside the load's `LoadSummary`."""

    pages: int = 0
    markets: int = 0
    trades_markets: int = 0
    history_markets: int = 0
    resumed: bool = False
    complete: bool = False
    since: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def history_load(
    ing: Ingestor,
    run: _Run,
    *,
    since: datetime | None,
    bars: LoadProgress,
    max_pages: int | None = None,
    history_days: float = 90.0,
) -> HistoryReport:
    """Walk the closed catalogue from the stored checkpoint (see the module docstring)."""
    report = HistoryReport()
    if Capability.CLOSED_MARKETS not in ing.venue.has:
        raise NotSupported(f"{ing.name} lists no closed markets")
    state = Checkpoint.parse(await runs.get_watermark(ing.pool, ing.name, CHECKPOINT_KIND))
    wanted_since = since.isoformat() if since is not None else None
    if state.cursor and (since is None or state.since == wanted_since):
        report.resumed = True  # an unfinished walk: carry on with its own bound
    else:
        if since is None and state.completed_from:
            bound = datetime.fromisoformat(state.completed_from) - SINCE_SLACK
            wanted_since = bound.isoformat()
        state = Checkpoint(
            cursor=None,
            since=wanted_since,
            started_at=ing.clock().isoformat(),
            completed_from=state.completed_from,
        )
    report.since = state.since
    walk_since = datetime.fromisoformat(state.since) if state.since else None

    queue: asyncio.Queue[Fetched[Market] | None] = asyncio.Queue(maxsize=_PREFETCH_PAGES)

    async def produce() -> None:
        produced = 0
        try:
            async for page in ing.venue.closed_markets(cursor=state.cursor, since=walk_since):
                await queue.put(page)
                produced += 1
                if max_pages is not None and produced >= max_pages:
                    break
        except asyncio.CancelledError:
            raise  # stopped by the consumer: nobody waits for the end marker
        except BaseException:
            await queue.put(None)  # the consumer stops, then meets this error awaiting us
            raise
        await queue.put(None)

    producer = asyncio.create_task(produce())
    try:
        while (page := await queue.get()) is not None:
            await _page(ing, run, page, bars, report, history_days)
            state.cursor = page.watermark
            if page.watermark == "":
                state.cursor = None
                state.completed_from = state.started_at
                report.complete = True
            await runs.set_watermark(ing.pool, ing.name, CHECKPOINT_KIND, state.dumps())
            if max_pages is not None and report.pages >= max_pages:
                break
        await producer
    finally:
        if not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer
    return report


async def _page(
    ing: Ingestor,
    run: _Run,
    raw_page: Fetched[Market],
    bars: LoadProgress,
    report: HistoryReport,
    history_days: float,
) -> None:
    from predhub.ingest.pipeline import linked

    page = linked(raw_page)
    await ing._write(run, ing._market_batch(page))
    report.pages += 1
    report.markets += len(page.items)
    bars.advance("markets", len(page.items))
    if not page.items:
        return
    ids = await ids_by_native(ing.pool, ing.name, [m.native_id for m in page.items])
    rows = await ing.pool.fetch(_Q.history_pending, ing.name, list(ids.values()))
    trades_ids = [r["id"] for r in rows if r["trades"]]
    history_rows = [r for r in rows if r["history"]]
    jobs: list[Callable[[], Awaitable[None]]] = []
    if Capability.TRADES in ing.venue.has and trades_ids:
        bars.grow("trades", len(trades_ids))
        report.trades_markets += len(trades_ids)
        jobs += await _trades_jobs(ing, run, trades_ids, bars)
    writer = _HistoryWriter(ing, run, bars)
    if Capability.PRICE_HISTORY in ing.venue.has and history_rows:
        bars.grow("history", len(history_rows))
        report.history_markets += len(history_rows)
        ends = {r["id"]: r["end_at"] for r in history_rows}
        held = await held_markets(ing.pool, ing.name, list(ends))
        per_call = ing.bulk_history()
        if per_call:  # neighbours in close time share a request's window
            held.sort(key=lambda h: (ends[h.id] is None, ends[h.id] or ing.clock()))
            for chunk in ing._chunks(held, per_call):
                jobs.append(
                    functools.partial(_markets_history, ing, run, chunk, ends, writer, history_days)
                )
        else:
            for market in held:
                jobs.append(
                    functools.partial(
                        _market_history, ing, run, market, ends[market.id], writer, history_days
                    )
                )
    # Markets run side by side, up to the setting's requests in flight: the venue's rate
    # limits pace them (a history read waits for its endpoint's tokens), not page order.
    await ing._bounded(jobs, ing.settings.history_load_concurrency)
    await writer.flush()  # before the caller stores the page's checkpoint


async def _trades_jobs(
    ing: Ingestor, run: _Run, market_ids: list[int], bars: LoadProgress
) -> list[Callable[[], Awaitable[None]]]:
    """The page's trades reads: never-synced markets together where the venue allows, else one each.

    A market with a watermark (a walk resumed after its trades were read,
    or one first seen open) is read from it alone, so nothing is read twice.
    """
    held = await held_markets(ing.pool, ing.name, market_ids)
    per_call = ing.bulk_trades()
    fresh = [h for h in held if h.trades_watermark is None] if per_call else []
    rest = [h for h in held if not per_call or h.trades_watermark is not None]

    async def together(chunk: Sequence[HeldMarket]) -> None:
        await ing._markets_trades(run, chunk)
        bars.advance("trades", len(chunk))

    async def alone(market: HeldMarket) -> None:
        await ing._market_trades(run, market)
        bars.advance("trades", 1)

    jobs: list[Callable[[], Awaitable[None]]] = [
        functools.partial(together, chunk) for chunk in ing._chunks(fresh, per_call or 1)
    ]
    return jobs + [functools.partial(alone, h) for h in rest]


class _HistoryWriter:
    """Writes fetched price histories `HISTORY_WRITE_MARKETS` markets to a transaction.

    One transaction per market cost more than the points themselves; a
    market is stamped `history_synced_at` in the transaction holding its
    points, so a crash before a flush only means its history is read again.
    """

    def __init__(self, ing: Ingestor, run: _Run, bars: LoadProgress) -> None:
        self.ing, self.run, self.bars = ing, run, bars
        self.pending: list[tuple[int, Fetched[PricePoint]]] = []

    async def add(self, market_id: int, fetched: Fetched[PricePoint]) -> None:
        self.pending.append((market_id, fetched))
        if len(self.pending) >= HISTORY_WRITE_MARKETS:
            await self.flush()

    async def flush(self) -> None:
        done, self.pending = self.pending, []
        if not done:
            return
        await self.ing._write(
            self.run,
            Batch(
                raw=[r for _id, f in done for r in f.raw],
                errors=[e for _id, f in done for e in f.errors],
                points=[p for _id, f in done for p in f.items],
            ),
            stamps=("history_synced_at",),
            stamp_ids=[market_id for market_id, _f in done],
        )
        self.bars.advance("history", len(done))


def _window(
    ing: Ingestor, ref: MarketRef, end_at: datetime | None, history_days: float
) -> HistoryWindow:
    end = min(end_at, ing.clock()) if end_at is not None else ing.clock()
    return HistoryWindow(ref, end - timedelta(days=history_days), end)


async def _markets_history(
    ing: Ingestor,
    run: _Run,
    markets: Sequence[HeldMarket],
    ends: dict[int, datetime | None],
    writer: _HistoryWriter,
    history_days: float,
) -> None:
    """Price histories of several markets from the venue's batch endpoint, one transaction.

    The markets the batch endpoint does not serve (`MarketsHistory.rest`)
    are then read one by one, as without it.
    """
    from predhub.ingest.pipeline import linked

    by_native = {h.ref.native_id: h for h in markets}
    windows = [_window(ing, h.ref, ends[h.id], history_days) for h in markets]
    try:
        got = await ing.venue.price_histories(windows, interval_seconds=HISTORY_INTERVAL_SECONDS)
    except NotSupported:
        for market in markets:
            await _market_history(ing, run, market, ends[market.id], writer, history_days)
        return
    except VenueError as exc:
        ing._failed(run, "price_histories", exc, markets=len(markets))
        return
    fetched = linked(got.fetched)
    done = [by_native[n].id for n in got.answered if n in by_native]
    await ing._write(
        run,
        Batch(raw=fetched.raw, errors=fetched.errors, points=fetched.items),
        stamps=("history_synced_at",),
        stamp_ids=done,
    )
    writer.bars.advance("history", len(done))
    for window in got.rest:
        if (alone := by_native.get(window.ref.native_id)) is not None:
            await _market_history(ing, run, alone, ends[alone.id], writer, history_days)


async def _market_history(
    ing: Ingestor,
    run: _Run,
    market: HeldMarket,
    end_at: datetime | None,
    writer: _HistoryWriter,
    history_days: float,
) -> None:
    window = _window(ing, market.ref, end_at, history_days)
    try:
        fetched = await ing._history(
            market.ref,
            start=window.start,
            end=window.end,
            interval_seconds=HISTORY_INTERVAL_SECONDS,
        )
    except NotSupported:
        return
    except VenueError as exc:
        ing._failed(run, "price_history", exc, market=market.ref.native_id)
        return
    await writer.add(market.id, fetched)


def summary_line(report: HistoryReport, summary: LoadSummary) -> str:
    """One line for people: how far the walk got."""
    state = "complete" if report.complete else "checkpointed, run again to continue"
    origin = "resumed" if report.resumed else "started"
    bound = f" since {report.since}" if report.since else ""
    return (
        f"{origin} walk{bound}: {report.pages} pages, {report.markets} markets, "
        f"trades read for {report.trades_markets}, price history for "
        f"{report.history_markets}, {summary.requests} requests; {state}"
    )
