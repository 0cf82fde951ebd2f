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

A completed walk remembers when it started; the next walk without `--since`
reads only markets that closed after that (less a day of slack), so a
background run costs what changed, not the catalogue's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from predhub.db.queries import load
from predhub.ingest import runs
from predhub.ingest.progress import LoadProgress
from predhub.ingest.refs import HeldMarket, held_markets, ids_by_native
from predhub.ingest.store import Batch
from predhub.ingest.summary import LoadSummary
from predhub.models import Market
from predhub.venues.base import Capability, Fetched, NotSupported, VenueError

if TYPE_CHECKING:
    from predhub.ingest.pipeline import Ingestor, _Run

CHECKPOINT_KIND = "history"
# Daily points: a closed market's whole life in a few dozen points per outcome (daily
# candles where the venue has them) rather than thousands of hourly ones.
HISTORY_INTERVAL_SECONDS = 86_400
SINCE_SLACK = timedelta(days=1)  # markets may be listed as closed a little after they end
_PREFETCH_PAGES = 2
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

        async def trades() -> None:
            await ing._sync_trades(run, trades_ids)
            bars.advance("trades", len(trades_ids))

        jobs.append(trades)
    if Capability.PRICE_HISTORY in ing.venue.has and history_rows:
        bars.grow("history", len(history_rows))
        report.history_markets += len(history_rows)
        ends = {r["id"]: r["end_at"] for r in history_rows}
        held = await held_markets(ing.pool, ing.name, list(ends))
        for market in held:
            jobs.append(
                functools.partial(
                    _market_history, ing, run, market, ends[market.id], bars, history_days
                )
            )
    await ing._bounded(jobs)


async def _market_history(
    ing: Ingestor,
    run: _Run,
    market: HeldMarket,
    end_at: datetime | None,
    bars: LoadProgress,
    history_days: float,
) -> None:
    end = min(end_at, ing.clock()) if end_at is not None else ing.clock()
    start = end - timedelta(days=history_days)
    try:
        fetched = await ing._history(
            market.ref, start=start, end=end, interval_seconds=HISTORY_INTERVAL_SECONDS
        )
    except NotSupported:
        return
    except VenueError as exc:
        ing._failed(run, "price_history", exc, market=market.ref.native_id)
        return
    await ing._write(
        run,
        Batch(raw=fetched.raw, errors=fetched.errors, points=fetched.items),
        stamps=("history_synced_at",),
        stamp_ids=[market.id],
    )
    bars.advance("history", 1)


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
