"""Silver writer for trades: append-only, deduplicated by the venue's trade key.

Trades come by the hundred thousand, so the common case takes the shortest
path: one query maps the batch's markets and outcomes to silver ids, one
index lookup finds the trade keys already stored, and the new trades are
COPied straight into `silver.trades` (no staging table: staging costs as much
as the COPY itself). A writer that meets a concurrent one storing the same
trade (a unique violation inside the COPY's savepoint) falls back to the
staged `INSERT ... ON CONFLICT DO NOTHING`, which is always correct.

New trades send `pg_notify('predhub_trades', '<market id>')`, once per market
that gained trades.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from predhub.db.queries import load, render
from predhub.ingest.silver.common import (
    StagingTable,
    WriteResult,
    dumps,
    identifier,
    last_wins,
    merge_staged,
    tally,
)
from predhub.ingest.silver.history import mark_trades
from predhub.models import Trade

TRADES_CHANNEL = "predhub_trades"

_Q = load("silver_trades")
_CHANNEL = f"'{identifier(TRADES_CHANNEL)}'"

TRADES_IN = StagingTable(
    "ingest_trades_in",
    (
        ("ord", "integer"),
        ("venue", "text"),
        ("market_native_id", "text"),
        ("trade_key", "text"),
        ("outcome_index", "smallint"),
        ("token_id", "text"),
        ("price", "numeric"),
        ("size", "numeric"),
        ("side", "text"),
        ("executed_at", "timestamptz"),
        ("tx_hash", "text"),
        ("extra", "text"),
        ("bronze_id", "bigint"),
    ),
)
_TRADE_COLS = TRADES_IN.column_names
_TRADES_SQL = render(_Q.insert_staged_trades, channel=_CHANNEL)
_NOTIFY_SQL = render(_Q.notify_trades, channel=_CHANNEL)


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


_COPY_COLS = (
    "venue",
    "market_id",
    "outcome_id",
    *(
        c
        for c in _TRADE_COLS
        if c not in ("ord", "venue", "market_native_id", "outcome_index", "token_id")
    ),
)

MarketKey = tuple[str, str]


class _Target:
    """A market's silver id and its outcomes' ids, by index and by token."""

    __slots__ = ("by_index", "by_token", "market_id")

    def __init__(self, market_id: int) -> None:
        self.market_id = market_id
        self.by_index: dict[int, int] = {}
        self.by_token: dict[str, int] = {}

    def outcome_id(self, t: Trade) -> int | None:
        if t.outcome_index is not None:
            return self.by_index.get(t.outcome_index)
        return self.by_token.get(t.token_id) if t.token_id else None


async def _targets(conn: asyncpg.Connection, batch: Sequence[Trade]) -> dict[MarketKey, _Target]:
    keys = {(t.venue, t.market_native_id) for t in batch}
    rows = await conn.fetch(_Q.trade_targets, [k[0] for k in keys], [k[1] for k in keys])
    out: dict[MarketKey, _Target] = {}
    for r in rows:
        target = out.setdefault((r["venue"], r["native_id"]), _Target(r["market_id"]))
        if r["outcome_id"] is not None:
            target.by_index[r["idx"]] = r["outcome_id"]
            if r["token_id"]:
                target.by_token[r["token_id"]] = r["outcome_id"]
    return out


async def _stored_keys(
    conn: asyncpg.Connection, batch: Sequence[Trade], targets: dict[MarketKey, _Target]
) -> set[tuple[str, str]]:
    since: dict[int, datetime] = {}
    for t in batch:
        target = targets.get((t.venue, t.market_native_id))
        if target is not None:
            first = since.get(target.market_id)
            if first is None or t.executed_at < first:
                since[target.market_id] = t.executed_at
    if not since:
        return set()
    rows = await conn.fetch(_Q.stored_trade_keys, list(since), list(since.values()))
    return {(r["venue"], r["trade_key"]) for r in rows}


async def notify_trades(conn: asyncpg.Connection, market_ids: Sequence[int]) -> None:
    """Tell the live feeds which markets gained trades (delivered at commit)."""
    if market_ids:
        await conn.execute(_NOTIFY_SQL, sorted(market_ids))


async def insert_trades(conn: asyncpg.Connection, trades: Sequence[Trade]) -> WriteResult:
    """Insert trades not seen before; a trade key already stored is left as it is."""
    batch = last_wins(trades, lambda t: (t.venue, t.trade_key))
    if not batch:
        return WriteResult()
    targets = await _targets(conn, batch)
    stored = await _stored_keys(conn, batch, targets)
    records: list[tuple[Any, ...]] = []
    unresolved: list[Trade] = []
    gained: set[int] = set()
    for t in batch:
        target = targets.get((t.venue, t.market_native_id))
        if target is None:
            unresolved.append(t)
        elif (t.venue, t.trade_key) not in stored:
            gained.add(target.market_id)
            records.append(
                (
                    t.venue,
                    target.market_id,
                    target.outcome_id(t),
                    t.trade_key,
                    t.price,
                    t.size,
                    t.side,
                    t.executed_at,
                    t.tx_hash,
                    t.extra,
                    t.raw.bronze_id if t.raw else None,
                )
            )
    if records:
        # Their buckets' volume changes: the rollup recounts them.
        await mark_trades(conn, [r[2] for r in records], [r[7] for r in records])
        try:
            async with conn.transaction():  # a savepoint: the fallback needs the batch undone
                await conn.copy_records_to_table(
                    "trades", schema_name="silver", records=records, columns=_COPY_COLS
                )
        except asyncpg.UniqueViolationError:
            return await _insert_staged(conn, batch)
        await notify_trades(conn, list(gained))
    return WriteResult(
        inserted=len(records),
        unchanged=len(batch) - len(records) - len(unresolved),
        unresolved=unresolved,
        markets=gained,
    )


async def _insert_staged(conn: asyncpg.Connection, batch: Sequence[Trade]) -> WriteResult:
    """The always-correct path: stage the batch, insert what no one stored meanwhile."""
    records = [_trade_record(i, t) for i, t in enumerate(batch)]
    return tally(batch, await merge_staged(conn, TRADES_IN, records, _TRADES_SQL))
