"""Silver writer for trades: append-only, deduplicated by the venue's trade key.

Trades come by the hundred thousand, so the common case takes the shortest
path: one query maps the batch's markets and outcomes to silver ids, one
probe per trade finds the keys already stored, and the new trades are
COPied straight into `silver.trades` (no staging table: staging costs as much
as the COPY itself). If the COPY still meets a stored trade (a unique
violation inside its savepoint), the batch falls back to the staged
`INSERT ... ON CONFLICT DO NOTHING`, which is always correct.

`silver.trades` is partitioned by month on `executed_at`, and a unique key of a
partitioned table must hold the partition key, so the table's key is
(venue, trade_key, executed_at). A trade's time is stable for its key at the
venue (a venue's trade id, a fill, a transaction's log entry: none is ever
re-dated), but its precision depends on the source that delivered it, as the
recorded responses show: one venue's REST trades carry microseconds while its
WebSocket carries milliseconds, another's REST trades whole seconds while its
WebSocket carries milliseconds. So one trade read from the
stream and from REST has two times a fraction of a second apart, and the
unique key alone would store it twice. Deduplication therefore looks a key up
within a day either side of the trade's time (`TIME_WINDOW`, far wider than any
source's rounding), and writers of the same market take a transaction lock
first, so looking up and storing are one step: a second writer, or a worker
restarted after a crash, finds what the first one committed, and nothing is
stored twice.

A trade whose month has no partition yet (a backfill of years-old trades)
gets its partition and the write runs again (`predhub.db.partitions`).

New trades send `pg_notify('predhub_trades', '<market id>')`, once per market
that gained trades.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from predhub.db import partitions
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
# The lock namespace of trade writers, one lock per market ("trad").
LOCK_NAMESPACE = 0x74726164
# How far apart two sources may stamp one trade (stored_trade_keys spells it in SQL).
TIME_WINDOW = timedelta(days=1)

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


async def _stored_keys(conn: asyncpg.Connection, batch: Sequence[Trade]) -> set[tuple[str, str]]:
    """The batch's (venue, key) pairs stored already, within TIME_WINDOW of their time."""
    rows = await conn.fetch(
        _Q.stored_trade_keys,
        [t.venue for t in batch],
        [t.trade_key for t in batch],
        [t.executed_at for t in batch],
    )
    return {(r["venue"], r["trade_key"]) for r in rows}


def _needs(times: Sequence[datetime]) -> list[tuple[str, Sequence[datetime]]]:
    return [(partitions.TRADES, times)]


async def notify_trades(conn: asyncpg.Connection, market_ids: Sequence[int]) -> None:
    """Tell the live feeds which markets gained trades (delivered at commit)."""
    if market_ids:
        await conn.execute(_NOTIFY_SQL, sorted(market_ids))


async def insert_trades(conn: asyncpg.Connection, trades: Sequence[Trade]) -> WriteResult:
    """Insert trades not seen before; a trade key already stored is left as it is.

    Runs in a transaction (a savepoint inside the caller's): the markets' locks
    are held until it commits.
    """
    batch = last_wins(trades, lambda t: (t.venue, t.trade_key))
    if not batch:
        return WriteResult()
    async with conn.transaction():
        targets = await _targets(conn, batch)
        locked = sorted({target.market_id for target in targets.values()})
        if locked:
            await conn.fetchval(_Q.lock_markets, locked, LOCK_NAMESPACE)
        resolved = [t for t in batch if (t.venue, t.market_native_id) in targets]
        stored = await _stored_keys(conn, resolved) if resolved else set()
        return await _insert_new(conn, batch, targets, stored)


async def _insert_new(
    conn: asyncpg.Connection,
    batch: Sequence[Trade],
    targets: dict[MarketKey, _Target],
    stored: set[tuple[str, str]],
) -> WriteResult:
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

        async def copy() -> None:
            await conn.copy_records_to_table(
                "trades", schema_name="silver", records=records, columns=_COPY_COLS
            )

        try:
            await partitions.write_with_partitions(
                conn, copy, lambda: _needs([r[7] for r in records])
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
    times = _needs([t.executed_at for t in batch])
    return tally(batch, await merge_staged(conn, TRADES_IN, records, _TRADES_SQL, partitions=times))
