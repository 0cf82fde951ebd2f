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

from predhub.ingest.silver.common import WriteResult, copy_in, dumps, last_wins
from predhub.models import OrderBook, PricePoint, Quote

QUOTES_CHANNEL = "predhub_quotes"

_RESOLVE = """
    SELECT t.*, o.id AS outcome_id, o.market_id
    FROM {temp} t
    LEFT JOIN silver.markets m ON m.venue = t.venue AND m.native_id = t.market_native_id
    LEFT JOIN silver.outcomes o ON o.market_id = m.id AND o.idx = t.outcome_index
"""

_QUOTE_DDL = """
    ord integer, venue text, market_native_id text, outcome_index smallint, best_bid numeric,
    best_ask numeric, mid numeric, last numeric, price numeric, observed_at timestamptz,
    fetched_at timestamptz, bronze_id bigint
"""
_QUOTE_COLS = (
    "ord",
    "venue",
    "market_native_id",
    "outcome_index",
    "best_bid",
    "best_ask",
    "mid",
    "last",
    "price",
    "observed_at",
    "fetched_at",
    "bronze_id",
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


def _quotes_sql(mode: QuoteMode) -> str:
    """How incoming prices combine with stored ones.

    - replace: complete quotes (batch endpoints) replace every price;
    - merge: partial quotes (streams, books) replace the prices they carry;
    - fill: a listing's prices only fill prices not known yet, so a listing's
      display price never fights the batch endpoints' quotes.

    Whatever the mode, `price` and `price_source` are then derived from the
    merged row: a book merged next to an older price re-derives the price.
    """
    merged = {c: _pick(mode, f"excluded.{c}", f"q.{c}") for c in _PRICE_COLS}
    venue_of_q = "(SELECT m.venue FROM silver.markets m WHERE m.id = q.market_id)"
    merged["price"], source = _derived(venue_of_q, merged)
    sets = ", ".join(f"{c} = {merged[c]}" for c in _PRICE_COLS)
    old = ", ".join(f"q.{c}" for c in (*_PRICE_COLS, "price_source"))
    new = ", ".join([*(merged[c] for c in _PRICE_COLS), source])

    incoming = {c: _pick(mode, f"r.{c}", f"cur.{c}") for c in _PRICE_COLS}
    incoming["price"], incoming_source = _derived("r.venue", incoming)
    fresh = {c: f"r.{c}" for c in _PRICE_COLS}
    fresh["price"], fresh_source = _derived("r.venue", fresh)
    cur = ", ".join(f"cur.{c}" for c in (*_PRICE_COLS, "price_source"))
    incoming_row = ", ".join([*(incoming[c] for c in _PRICE_COLS), incoming_source])
    return f"""
WITH res AS ({_RESOLVE.format(temp="ingest_quotes_in")}
), up AS (
    INSERT INTO silver.quotes AS q
        (outcome_id, market_id, {", ".join(_PRICE_COLS)}, price_source, observed_at, fetched_at,
         bronze_id)
    SELECT r.outcome_id, r.market_id, {", ".join(fresh[c] for c in _PRICE_COLS)}, {fresh_source},
           r.observed_at, r.fetched_at, r.bronze_id
    FROM res r LEFT JOIN silver.quotes cur ON cur.outcome_id = r.outcome_id
    WHERE r.outcome_id IS NOT NULL
      AND (cur.outcome_id IS NULL OR ({cur}) IS DISTINCT FROM ({incoming_row}))
    ORDER BY r.outcome_id
    ON CONFLICT (outcome_id) DO UPDATE SET {sets}, price_source = {source},
        observed_at = excluded.observed_at, fetched_at = excluded.fetched_at,
        bronze_id = excluded.bronze_id
    WHERE ({old}) IS DISTINCT FROM ({new})
    RETURNING market_id, (xmax = 0) AS inserted
), changed AS (
    SELECT market_id, pg_notify('{QUOTES_CHANNEL}', market_id::text) FROM up GROUP BY market_id
)
SELECT (SELECT count(*) FROM up WHERE inserted) AS inserted,
       (SELECT count(*) FROM up WHERE NOT inserted) AS updated,
       (SELECT coalesce(array_agg(market_id), '{{}}') FROM changed) AS markets,
       (SELECT coalesce(array_agg(ord), '{{}}') FROM res WHERE outcome_id IS NULL) AS unresolved
"""


_QUOTES_SQL: dict[QuoteMode, str] = {m: _quotes_sql(m) for m in ("replace", "merge", "fill")}


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
) -> WriteResult:
    """Write current quotes; unchanged prices leave the row (and its times) untouched.

    See `_quotes_sql` for the `mode`s; in every mode a price the incoming
    quote lacks keeps its stored value only in "merge" and "fill".
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
    await copy_in(conn, "ingest_quotes_in", _QUOTE_DDL, _QUOTE_COLS, records)
    row = await conn.fetchrow(_QUOTES_SQL[mode])
    assert row is not None
    unresolved = [batch[i] for i in row["unresolved"]]
    written = row["inserted"] + row["updated"]
    return WriteResult(
        inserted=row["inserted"],
        updated=row["updated"],
        unchanged=len(batch) - written - len(unresolved),
        unresolved=unresolved,
        markets=set(row["markets"]),
    )


_HISTORY_DDL = """
    ord integer, venue text, market_native_id text, outcome_index smallint, ts timestamptz,
    price numeric, bronze_id bigint
"""
_HISTORY_COLS = ("ord", "venue", "market_native_id", "outcome_index", "ts", "price", "bronze_id")
_HISTORY_SQL = f"""
WITH res AS ({_RESOLVE.format(temp="ingest_history_in")}
), up AS (
    INSERT INTO silver.price_history AS h (outcome_id, ts, price, source, bronze_id)
    SELECT outcome_id, ts, price, 'venue', bronze_id FROM res WHERE outcome_id IS NOT NULL
    ORDER BY outcome_id, ts
    ON CONFLICT (outcome_id, ts) DO UPDATE SET price = excluded.price,
        source = excluded.source, bronze_id = excluded.bronze_id
    WHERE (h.price, h.source) IS DISTINCT FROM (excluded.price, excluded.source)
    RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM up WHERE inserted) AS inserted,
       (SELECT count(*) FROM up WHERE NOT inserted) AS updated,
       (SELECT coalesce(array_agg(ord), '{{}}') FROM res WHERE outcome_id IS NULL) AS unresolved
"""


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
    await copy_in(conn, "ingest_history_in", _HISTORY_DDL, _HISTORY_COLS, records)
    row = await conn.fetchrow(_HISTORY_SQL)
    assert row is not None
    unresolved = [batch[i] for i in row["unresolved"]]
    written = row["inserted"] + row["updated"]
    return WriteResult(
        inserted=row["inserted"],
        updated=row["updated"],
        unchanged=len(batch) - written - len(unresolved),
        unresolved=unresolved,
    )


_BOOK_DDL = """
    ord integer, venue text, market_native_id text, outcome_index smallint,
    observed_at timestamptz, fetched_at timestamptz, best_bid numeric, best_ask numeric,
    bids text, asks text, book_hash text, bronze_id bigint
"""
_BOOK_COLS = (
    "ord",
    "venue",
    "market_native_id",
    "outcome_index",
    "observed_at",
    "fetched_at",
    "best_bid",
    "best_ask",
    "bids",
    "asks",
    "book_hash",
    "bronze_id",
)
# A snapshot identical to the outcome's latest one adds nothing: skip it.
_BOOKS_SQL = f"""
WITH res AS ({_RESOLVE.format(temp="ingest_books_in")}
), ins AS (
    INSERT INTO silver.order_book_snapshots AS s
        (market_id, outcome_id, observed_at, fetched_at, best_bid, best_ask, bids, asks,
         book_hash, bronze_id)
    SELECT r.market_id, r.outcome_id, r.observed_at, r.fetched_at, r.best_bid, r.best_ask,
           r.bids::jsonb, r.asks::jsonb, r.book_hash, r.bronze_id
    FROM res r
    WHERE r.outcome_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM (
            SELECT l.bids, l.asks FROM silver.order_book_snapshots l
            WHERE l.outcome_id = r.outcome_id ORDER BY l.observed_at DESC LIMIT 1
        ) latest
        WHERE latest.bids = r.bids::jsonb AND latest.asks = r.asks::jsonb
    )
    ORDER BY r.outcome_id
    ON CONFLICT (outcome_id, observed_at) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS inserted,
       (SELECT coalesce(array_agg(ord), '{{}}') FROM res WHERE outcome_id IS NULL) AS unresolved
"""


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
    await copy_in(conn, "ingest_books_in", _BOOK_DDL, _BOOK_COLS, records)
    row = await conn.fetchrow(_BOOKS_SQL)
    assert row is not None
    unresolved = [batch[i] for i in row["unresolved"]]
    return WriteResult(
        inserted=row["inserted"],
        unchanged=len(batch) - row["inserted"] - len(unresolved),
        unresolved=unresolved,
    )
