"""Silver writers for prices: current quotes, price history and order books.

Quotes that change send `pg_notify('predhub_quotes', '<market id>')` from the
same statement, once per changed market, so listeners hear about a change
exactly when (and only if) its transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg

from predhub.db import partitions
from predhub.db.queries import load, render
from predhub.ingest.silver.common import (
    StagingTable,
    WriteResult,
    column_list,
    dumps,
    identifier,
    last_wins,
    merge_staged,
    tally,
)
from predhub.ingest.silver.history import DEFAULT_SAMPLING, HistorySampling, sample_staged_quotes
from predhub.models import OrderBook, PricePoint, Quote

QUOTES_CHANNEL = "predhub_quotes"

_Q = load("silver_prices")

QUOTES_IN = StagingTable(
    "ingest_quotes_in",
    (
        ("ord", "integer"),
        ("venue", "text"),
        ("market_native_id", "text"),
        ("outcome_index", "smallint"),
        ("best_bid", "numeric"),
        ("best_ask", "numeric"),
        ("mid", "numeric"),
        ("last", "numeric"),
        ("price", "numeric"),
        ("observed_at", "timestamptz"),
        ("fetched_at", "timestamptz"),
        ("bronze_id", "bigint"),
    ),
)
_PRICE_COLS = ("best_bid", "best_ask", "mid", "last", "price")


QuoteMode = Literal["replace", "merge", "fill"]


def _pick(mode: QuoteMode, incoming: str, stored: str) -> str:
    if mode == "merge":
        return f"coalesce({incoming}, {stored})"
    if mode == "fill":
        return f"coalesce({stored}, {incoming})"
    return incoming


def _derived(venue: str, merged: dict[str, str]) -> tuple[str, str]:
    """The price and its source, by the venue's display rule over the merged prices.

    The rule lives in the database (`silver.quote_price`, migration 0006), so
    the price can never disagree with the bid, ask and last stored beside it,
    whichever writer merged into the row last.
    """
    args = ", ".join(
        [venue, merged["best_bid"], merged["best_ask"], merged["last"], merged["price"]]
    )
    return f"silver.quote_price({args})", f"silver.quote_price_source({args})"


def _quotes_sql(mode: QuoteMode, streamed: bool) -> str:
    """How incoming prices combine with stored ones.

    - replace: complete quotes (batch endpoints) replace every price;
    - merge: partial quotes (streams, books) replace the prices they carry;
    - fill: a listing's prices only fill prices not known yet, so a listing's
      display price never fights the batch endpoints' quotes.

    Whatever the mode, `price` and `price_source` are then derived from the
    merged row: a book merged next to an older price re-derives the price.
    """
    cols = [identifier(c) for c in _PRICE_COLS]
    merged = {c: _pick(mode, f"excluded.{c}", f"q.{c}") for c in cols}
    merged["price"], source = _derived(f"({_Q.venue_of_quote})", merged)
    incoming = {c: _pick(mode, f"r.{c}", f"cur.{c}") for c in cols}
    incoming["price"], incoming_source = _derived("r.venue", incoming)
    fresh = {c: f"r.{c}" for c in cols}
    fresh["price"], fresh_source = _derived("r.venue", fresh)
    return render(
        _Q.upsert_staged_quotes,
        prices=column_list(cols),
        fresh=", ".join(fresh[c] for c in cols),
        fresh_source=fresh_source,
        cur=column_list((*cols, "price_source"), "cur"),
        incoming=", ".join([*(incoming[c] for c in cols), incoming_source]),
        sets=", ".join(f"{c} = {merged[c]}" for c in cols),
        source=source,
        old=column_list((*cols, "price_source"), "q"),
        new=", ".join([*(merged[c] for c in cols), source]),
        channel=f"'{identifier(QUOTES_CHANNEL)}'",
        streamed="true" if streamed else "false",
    )


_QUOTES_SQL: dict[tuple[QuoteMode, bool], str] = {
    (m, s): _quotes_sql(m, s) for m in ("replace", "merge", "fill") for s in (False, True)
}


def _quote_mid(q: Quote) -> Any:
    if q.mid is None and q.best_bid is not None and q.best_ask is not None:
        return (q.best_bid + q.best_ask) / 2
    return q.mid


async def upsert_quotes(
    conn: asyncpg.Connection,
    quotes: Sequence[Quote],
    *,
    fetched_at: datetime,
    mode: QuoteMode = "replace",
    sampling: HistorySampling = DEFAULT_SAMPLING,
    streamed: bool = False,
) -> WriteResult:
    """Write current quotes; unchanged prices leave the row (and its times) untouched.

    Quotes of a market a live stream owns now (`quotes_streamed_until`) are
    written only by the stream (`streamed`): a REST answer that raced a stream
    message would otherwise put the older price back.

    See `_quotes_sql` for the `mode`s; in every mode a price the incoming
    quote lacks keeps its stored value only in "merge" and "fill". The same
    transaction then samples price history from the staged quotes
    (`sampling`: a point on a changed price or a new bucket).
    """
    batch = last_wins(quotes, lambda q: (q.venue, q.market_native_id, q.outcome_index))
    if not batch:
        return WriteResult()
    records = [
        (
            i,
            q.venue,
            q.market_native_id,
            q.outcome_index,
            q.best_bid,
            q.best_ask,
            _quote_mid(q),
            q.last,
            q.price,
            q.observed_at,
            fetched_at,
            q.raw.bronze_id if q.raw else None,
        )
        for i, q in enumerate(batch)
    ]
    result = tally(
        batch, await merge_staged(conn, QUOTES_IN, records, _QUOTES_SQL[(mode, streamed)])
    )
    await sample_staged_quotes(conn, sampling, fetched_at)
    return result


HISTORY_IN = StagingTable(
    "ingest_history_in",
    (
        ("ord", "integer"),
        ("venue", "text"),
        ("market_native_id", "text"),
        ("outcome_index", "smallint"),
        ("ts", "timestamptz"),
        ("price", "numeric"),
        ("bronze_id", "bigint"),
    ),
)


async def upsert_price_history(
    conn: asyncpg.Connection, points: Sequence[PricePoint]
) -> WriteResult:
    """Store venue price history points, one per outcome and timestamp."""
    batch = last_wins(points, lambda p: (p.venue, p.market_native_id, p.outcome_index, p.ts))
    if not batch:
        return WriteResult()
    records = [
        (
            i,
            p.venue,
            p.market_native_id,
            p.outcome_index,
            p.ts,
            p.price,
            p.raw.bronze_id if p.raw else None,
        )
        for i, p in enumerate(batch)
    ]
    times = [(partitions.PRICE_HISTORY, [p.ts for p in batch])]
    return tally(
        batch,
        await merge_staged(conn, HISTORY_IN, records, _Q.upsert_staged_history, partitions=times),
    )


BOOKS_IN = StagingTable(
    "ingest_books_in",
    (
        ("ord", "integer"),
        ("venue", "text"),
        ("market_native_id", "text"),
        ("outcome_index", "smallint"),
        ("observed_at", "timestamptz"),
        ("fetched_at", "timestamptz"),
        ("best_bid", "numeric"),
        ("best_ask", "numeric"),
        ("bids", "text"),
        ("asks", "text"),
        ("book_hash", "text"),
        ("bronze_id", "bigint"),
    ),
)


def _levels(levels: Sequence[Any]) -> str:
    return dumps([[str(level.price), str(level.size)] for level in levels])


async def insert_books(
    conn: asyncpg.Connection, books: Sequence[OrderBook], *, fetched_at: datetime
) -> WriteResult:
    """Append order book snapshots that differ from each outcome's latest one."""
    batch = last_wins(books, lambda b: (b.venue, b.market_native_id, b.outcome_index))
    if not batch:
        return WriteResult()
    records = [
        (
            i,
            b.venue,
            b.market_native_id,
            b.outcome_index,
            b.observed_at,
            fetched_at,
            b.best_bid,
            b.best_ask,
            _levels(b.bids),
            _levels(b.asks),
            b.book_hash,
            b.raw.bronze_id if b.raw else None,
        )
        for i, b in enumerate(batch)
    ]
    times = [(partitions.BOOKS, [b.observed_at for b in batch])]
    return tally(
        batch, await merge_staged(conn, BOOKS_IN, records, _Q.insert_staged_books, partitions=times)
    )
