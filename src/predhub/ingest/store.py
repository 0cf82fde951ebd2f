"""One transactional write: bronze first, then silver, then quarantine.

`write_batch` is the single path every load takes into the database: it
stores the raw responses (so each silver row and quarantined item can point
at its bronze id), validates the parsed items, bulk-upserts the good ones and
quarantines the rest, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, get_args

import asyncpg

from predhub.db.queries import load, render
from predhub.ingest import silver, validate
from predhub.ingest.bronze import store_responses
from predhub.ingest.quarantine import quarantine
from predhub.ingest.silver.common import WriteResult
from predhub.ingest.silver.history import DEFAULT_SAMPLING, HistorySampling
from predhub.ingest.summary import LoadSummary
from predhub.models import (
    DataError,
    Event,
    Market,
    OrderBook,
    PricePoint,
    Quote,
    RawResponse,
    Trade,
)

SyncColumn = Literal[
    "metadata_synced_at",
    "quotes_synced_at",
    "trades_synced_at",
    "books_synced_at",
    "history_synced_at",
]
# The stamp statement for each sync column; the column names are the constants above.
_STAMP_SQL: dict[str, str] = {
    column: render(load("ingest").stamp_synced, column=column) for column in get_args(SyncColumn)
}

T = TypeVar("T")


@dataclass
class Batch:
    """Everything one step fetched, ready to be written together."""

    raw: list[RawResponse] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    markets: list[Market] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)  # batch endpoints: merged
    partial_quotes: list[Quote] = field(default_factory=list)  # books, streams: merged
    fill_quotes: list[Quote] = field(default_factory=list)  # listings: fill unknown prices only
    points: list[PricePoint] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    books: list[OrderBook] = field(default_factory=list)
    metadata_synced: bool = False  # stamp the markets' metadata_synced_at
    streamed: bool = False  # from a live stream: may write quotes a stream owns

    @property
    def fetched(self) -> int:
        return (
            len(self.events)
            + len(self.markets)
            + len(self.quotes)
            + len(self.partial_quotes)
            + len(self.fill_quotes)
            + len(self.points)
            + len(self.trades)
            + len(self.books)
            + len(self.errors)
        )

    def all_raw(self) -> list[RawResponse]:
        """The batch's responses plus any its items or errors point at."""
        out = list(self.raw)
        groups: Sequence[Sequence[Any]] = (
            self.errors,
            self.events,
            self.markets,
            self.quotes,
            self.partial_quotes,
            self.fill_quotes,
            self.points,
            self.trades,
            self.books,
        )
        for group in groups:
            out.extend(item.raw for item in group if item.raw is not None)
        return out


def _add(summary: LoadSummary, result: WriteResult, errors: list[DataError], what: str) -> None:
    summary.inserted += result.inserted
    summary.updated += result.updated
    summary.unchanged += result.unchanged
    summary.markets |= result.markets
    for item in result.unresolved:
        errors.append(
            validate.rejected(
                item,
                f"unknown {what} target: market {getattr(item, 'market_native_id', '?')!r}"
                f" outcome {getattr(item, 'outcome_index', None)!r} is not in silver",
                item_id=getattr(item, "trade_key", None) or getattr(item, "market_native_id", None),
            )
        )


async def write_batch(
    conn: asyncpg.Connection,
    batch: Batch,
    *,
    load_id: int | None = None,
    fetched_at: datetime | None = None,
    sampling: HistorySampling = DEFAULT_SAMPLING,
) -> LoadSummary:
    """Write `batch` inside the caller's transaction; returns what changed.

    Counts are of silver rows (markets, events, quotes, points, trades, books)
    plus quarantined items, so fetched = inserted + updated + unchanged +
    quarantined when a batch repeats no key.

    `summary.markets` holds the silver ids of markets whose rows, quotes or
    trades changed (the ones a NOTIFY was sent for, plus changed catalogue rows).
    """
    now = fetched_at or datetime.now(UTC)
    summary = LoadSummary(fetched=batch.fetched)
    await store_responses(conn, batch.all_raw(), load_id=load_id)
    errors = list(batch.errors)

    def valid(items: Iterable[T], check: Callable[[T], str | None], id_attr: str) -> list[T]:
        """The items that pass `check`; the rest join `errors` as quarantined."""
        good, bad = validate.partition(items, check, item_id=lambda item: getattr(item, id_attr))
        errors.extend(bad)
        return good

    events = valid(batch.events, validate.check_event, "native_id")
    markets = valid(batch.markets, validate.check_market, "native_id")
    quotes = valid(batch.quotes, validate.check_quote, "market_native_id")
    partial = valid(batch.partial_quotes, validate.check_quote, "market_native_id")
    fill = valid(batch.fill_quotes, validate.check_quote, "market_native_id")
    points = valid(batch.points, validate.check_point, "market_native_id")
    trades = valid(batch.trades, validate.check_trade, "trade_key")
    books = valid(batch.books, validate.check_book, "market_native_id")

    if events:
        _add(summary, await silver.upsert_events(conn, events), errors, "event")
    if markets:
        synced = now if batch.metadata_synced else None
        result = await silver.upsert_markets(conn, markets, synced_at=synced)
        _add(summary, result, errors, "market")
    if quotes:
        # Batch endpoints omit what they do not carry (a last trade price, say);
        # merging keeps those prices instead of flipping them to NULL and back.
        result = await silver.upsert_quotes(
            conn, quotes, fetched_at=now, mode="merge", sampling=sampling
        )
        _add(summary, result, errors, "quote")
    if partial:
        result = await silver.upsert_quotes(
            conn, partial, fetched_at=now, mode="merge", sampling=sampling, streamed=batch.streamed
        )
        _add(summary, result, errors, "quote")
    if fill:
        result = await silver.upsert_quotes(
            conn, fill, fetched_at=now, mode="fill", sampling=sampling
        )
        _add(summary, result, errors, "quote")
    if points:
        _add(summary, await silver.upsert_price_history(conn, points), errors, "price")
    if trades:
        _add(summary, await silver.insert_trades(conn, trades), errors, "trade")
    if books:
        _add(summary, await silver.insert_books(conn, books, fetched_at=now), errors, "book")
    summary.quarantined = await quarantine(conn, errors)
    return summary


async def stamp(
    conn: asyncpg.Connection, column: SyncColumn, market_ids: Sequence[int], at: datetime
) -> None:
    """Record that these markets' `column` data was synced at `at` (for the scheduler)."""
    if market_ids:
        await conn.execute(_STAMP_SQL[column], list(market_ids), at)
