"""What each job kind does: one call into ingestion.

The scheduler decides when and which markets; ingestion owns how (batch
endpoints, bronze, silver, watermarks). Every call is idempotent: quotes,
books and metadata are upserts, trades resume from each market's committed
watermark, so a job run twice (after a lease takeover) changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from predhub.ingest.summary import LoadSummary
from predhub.venues.base import StreamUpdate


class JobKind(StrEnum):
    QUOTES = "quotes"
    TRADES = "trades"
    BOOKS = "books"
    METADATA = "metadata"
    STATIC_LOAD = "static_load"
    DELTA_LOAD = "delta_load"
    RESOLUTION_SWEEP = "resolution_sweep"
    BACKFILL = "backfill"  # new markets' past prices, queued by the worker itself
    HISTORY_LOAD = "history_load"  # a few pages of the closed catalogue (background)


# Periodic loads outrank per-market refreshes: a static load on an empty
# database is what fills the hub.
KIND_PRIORITY: dict[JobKind, int] = {
    JobKind.STATIC_LOAD: 100,
    JobKind.DELTA_LOAD: 90,
    JobKind.RESOLUTION_SWEEP: 80,
    JobKind.BACKFILL: 0,  # after every fresh-data job of the venue
    JobKind.HISTORY_LOAD: 0,  # the past waits for the present
}


class IngestorLike(Protocol):
    """The part of `predhub.ingest.pipeline.Ingestor` the scheduler drives."""

    async def static_load(self) -> LoadSummary: ...
    async def delta_load(self) -> LoadSummary: ...
    async def refresh_quotes(self, market_ids: Sequence[int]) -> LoadSummary: ...
    async def refresh_markets(self, market_ids: Sequence[int]) -> LoadSummary: ...
    async def refresh_books(self, market_ids: Sequence[int]) -> LoadSummary: ...
    async def sync_trades(self, market_ids: Sequence[int]) -> LoadSummary: ...
    async def backfill_history(self, market_ids: Sequence[int] | None = None) -> LoadSummary: ...
    async def resolution_sweep(self) -> LoadSummary: ...
    async def background_history(self) -> LoadSummary: ...
    async def apply_stream_update(self, update: StreamUpdate) -> LoadSummary: ...


async def run_job(ingestor: IngestorLike, kind: str, market_ids: Sequence[int]) -> LoadSummary:
    """Run one job through ingestion and return what it did."""
    ids = list(market_ids)
    match JobKind(kind):
        case JobKind.QUOTES:
            return await ingestor.refresh_quotes(ids)
        case JobKind.TRADES:
            return await ingestor.sync_trades(ids)
        case JobKind.BOOKS:
            return await ingestor.refresh_books(ids)
        case JobKind.METADATA:
            return await ingestor.refresh_markets(ids)
        case JobKind.STATIC_LOAD:
            return await ingestor.static_load()
        case JobKind.DELTA_LOAD:
            return await ingestor.delta_load()
        case JobKind.RESOLUTION_SWEEP:
            return await ingestor.resolution_sweep()
        case JobKind.BACKFILL:
            return await ingestor.backfill_history(ids or None)
        case JobKind.HISTORY_LOAD:
            return await ingestor.background_history()
