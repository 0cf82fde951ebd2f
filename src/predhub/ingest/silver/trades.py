"""Silver writer for trades: append-only, deduplicated by the venue's trade key.

New trades send `pg_notify('predhub_trades', '<market id>')`, once per market
that gained trades, from the inserting statement itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from predhub.ingest.silver.common import WriteResult, copy_in, dumps, last_wins
from predhub.models import Trade

TRADES_CHANNEL = "predhub_trades"

_TRADE_DDL = """
    ord integer, venue text, market_native_id text, trade_key text, outcome_index smallint,
    token_id text, price numeric, size numeric, side text, executed_at timestamptz,
    tx_hash text, extra text, bronze_id bigint
"""
_TRADE_COLS = (
    "ord",
    "venue",
    "market_native_id",
    "trade_key",
    "outcome_index",
    "token_id",
    "price",
    "size",
    "side",
    "executed_at",
    "tx_hash",
    "extra",
    "bronze_id",
)
_TRADES_SQL = f"""
WITH res AS (
    SELECT t.*, m.id AS market_id, coalesce(oi.id, ot.id) AS outcome_id
    FROM ingest_trades_in t
    LEFT JOIN silver.markets m ON m.venue = t.venue AND m.native_id = t.market_native_id
    -- by index: a hash join, not one index probe per trade
    LEFT JOIN silver.outcomes oi ON oi.market_id = m.id AND oi.idx = t.outcome_index
    -- by token, only for trades that carry no index
    LEFT JOIN LATERAL (
        SELECT o.id FROM silver.outcomes o
        WHERE t.outcome_index IS NULL AND o.market_id = m.id AND o.token_id = t.token_id
        LIMIT 1
    ) ot ON true
), ins AS (
    INSERT INTO silver.trades
        (venue, market_id, outcome_id, trade_key, price, size, side, executed_at, tx_hash,
         extra, bronze_id)
    SELECT venue, market_id, outcome_id, trade_key, price, size, side, executed_at, tx_hash,
           extra::jsonb, bronze_id
    FROM res r WHERE market_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM silver.trades cur WHERE cur.venue = r.venue AND cur.trade_key = r.trade_key
    )
    ORDER BY venue, trade_key
    ON CONFLICT (venue, trade_key) DO NOTHING
    RETURNING market_id
), gained AS (
    SELECT market_id, pg_notify('{TRADES_CHANNEL}', market_id::text) FROM ins GROUP BY market_id
)
SELECT (SELECT count(*) FROM ins) AS inserted,
       (SELECT coalesce(array_agg(market_id), '{{}}') FROM gained) AS markets,
       (SELECT coalesce(array_agg(ord), '{{}}') FROM res WHERE market_id IS NULL) AS unresolved
"""


def _trade_record(i: int, t: Trade) -> tuple[Any, ...]:
    return (
        i,
        t.venue,
        t.market_native_id,
        t.trade_key,
        t.outcome_index,
        t.token_id,
        t.price,
        t.size,
        t.side,
        t.executed_at,
        t.tx_hash,
        dumps(t.extra),
        t.raw.bronze_id if t.raw else None,
    )


async def insert_trades(conn: asyncpg.Connection, trades: Sequence[Trade]) -> WriteResult:
    """Insert trades not seen before; a trade key already stored is left as it is."""
    batch = last_wins(trades, lambda t: (t.venue, t.trade_key))
    if not batch:
        return WriteResult()
    records = [_trade_record(i, t) for i, t in enumerate(batch)]
    await copy_in(conn, "ingest_trades_in", _TRADE_DDL, _TRADE_COLS, records)
    row = await conn.fetchrow(_TRADES_SQL)
    assert row is not None
    unresolved = [batch[i] for i in row["unresolved"]]
    return WriteResult(
        inserted=row["inserted"],
        unchanged=len(batch) - row["inserted"] - len(unresolved),
        unresolved=unresolved,
        markets=set(row["markets"]),
    )
