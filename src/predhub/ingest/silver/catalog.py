"""Silver writers for the catalogue: events, markets and their outcomes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from predhub.db.connect import JsonText
from predhub.db.queries import load, render
from predhub.ingest.silver.common import (
    StagingTable,
    WriteResult,
    column_list,
    dumps,
    identifier,
    last_wins,
    merge_staged,
    stage,
)
from predhub.models import Event, Market

_Q = load("silver_catalog")

EVENTS_IN = StagingTable(
    "ingest_events_in",
    (
        ("venue", "text"),
        ("native_id", "text"),
        ("slug", "text"),
        ("title", "text"),
        ("description", "text"),
        ("category", "text"),
        ("tags", "text[]"),
        ("start_at", "timestamptz"),
        ("end_at", "timestamptz"),
        ("neg_risk", "boolean"),
        ("mutually_exclusive", "boolean"),
        ("status", "text"),
        ("volume_total", "numeric"),
        ("extra", "text"),
        ("bronze_id", "bigint"),
    ),
)
_EVENT_COLS = EVENTS_IN.column_names
_EVENT_DATA = [c for c in _EVENT_COLS if c not in ("venue", "native_id", "bronze_id")]


def _cast(col: str, prefix: str = "") -> str:
    """A staged column as the upsert reads it: jsonb columns are staged as text."""
    dot = f"{identifier(prefix)}." if prefix else ""
    col = identifier(col)
    return f"{dot}{col}::jsonb AS {col}" if col in ("extra", "payouts") else f"{dot}{col}"


def _upsert_sql(
    target: str,
    alias: str,
    cols: Sequence[str],
    data: Sequence[str],
    source: str,
    *,
    stamp: str = "",
) -> str:
    """The `upsert_by_native_id` template filled in for one table (see its docstring).

    `data` are the compared columns; every name is a code constant. `stamp`
    is one more assignment a changed row gets (the markets' change_xid).
    """
    schema, table = target.split(".")
    target = f"{identifier(schema)}.{identifier(table)}"
    alias = identifier(alias)
    sets = ", ".join(f"{c} = excluded.{c}" for c in map(identifier, (*data, "bronze_id")))
    upd_sets = ", ".join(f"{c} = d.{c}" for c in map(identifier, (*data, "bronze_id")))
    if stamp:
        sets, upd_sets = f"{sets}, {stamp}", f"{upd_sets}, {stamp}"
    return render(
        _Q.upsert_by_native_id,
        source=source,
        target=target,
        alias=alias,
        cur=column_list(data, "cur"),
        src=column_list(data, "s"),
        upd_sets=upd_sets,
        old=column_list(data, alias),
        fresh=column_list(data, "d"),
        col_list=column_list(cols),
        sets=sets,
        new=column_list(data, "excluded"),
    )


_EVENTS_SQL = _upsert_sql(
    "silver.events",
    "e",
    _EVENT_COLS,
    _EVENT_DATA,
    render(_Q.staged_events, columns=", ".join(_cast(c) for c in _EVENT_COLS)),
)


def _event_record(e: Event) -> tuple[Any, ...]:
    return (
        e.venue,
        e.native_id,
        e.slug,
        e.title,
        e.description,
        e.category,
        list(e.tags),
        e.start_at,
        e.end_at,
        e.neg_risk,
        e.mutually_exclusive,
        str(e.status),
        e.volume_total,
        dumps(e.extra),
        e.raw.bronze_id if e.raw else None,
    )


async def upsert_events(conn: asyncpg.Connection, events: Sequence[Event]) -> WriteResult:
    """Insert new events, update changed ones, leave identical ones untouched."""
    batch = last_wins(events, lambda e: (e.venue, e.native_id))
    if not batch:
        return WriteResult()
    rows = await merge_staged(conn, EVENTS_IN, map(_event_record, batch), _EVENTS_SQL)
    inserted = sum(1 for r in rows if r["inserted"])
    updated = len(rows) - inserted
    return WriteResult(inserted=inserted, updated=updated, unchanged=len(batch) - len(rows))


MARKETS_IN = StagingTable(
    "ingest_markets_in",
    (
        ("venue", "text"),
        ("native_id", "text"),
        ("event_native_id", "text"),
        ("event_title", "text"),
        ("condition_id", "text"),
        ("ticker", "text"),
        ("slug", "text"),
        ("question", "text"),
        ("description", "text"),
        ("category", "text"),
        ("status", "text"),
        ("end_at", "timestamptz"),
        ("venue_updated_at", "timestamptz"),
        ("volume_total", "numeric"),
        ("volume_24h", "numeric"),
        ("liquidity", "numeric"),
        ("open_interest", "numeric"),
        ("fee_bps", "numeric"),
        ("tick_size", "numeric"),
        ("winning_outcome", "smallint"),
        ("is_void", "boolean"),
        ("payouts", "text"),
        ("resolution_source", "text"),
        ("resolved_at", "timestamptz"),
        ("extra", "text"),
        ("row_fingerprint", "bigint"),
        ("bronze_id", "bigint"),
    ),
)
_MARKET_COLS = MARKETS_IN.column_names
_MARKET_DATA = [c for c in _MARKET_COLS if c not in ("venue", "native_id", "bronze_id")]

_MARKETS_SQL = _upsert_sql(
    "silver.markets",
    "m",
    (*_MARKET_COLS, "event_id"),
    (*_MARKET_DATA, "event_id"),
    render(_Q.staged_markets, columns=", ".join(_cast(c, "t") for c in _MARKET_COLS)),
    # a changed market is new to gold and the matcher (predhub.db.changes): the write
    # stamps it, so the row trigger that would otherwise stamp it never runs
    stamp="change_xid = pg_current_xact_id()",
)

_COPY_MARKET_COLS = ("id", *_MARKET_COLS, "event_id")
_JSON_AT = (_MARKET_COLS.index("payouts"), _MARKET_COLS.index("extra"))
_COPY_OUTCOME_COLS = ("market_id", "idx", "label", "token_id")

OUTCOMES_IN = StagingTable(
    "ingest_outcomes_in",
    (
        ("venue", "text"),
        ("market_native_id", "text"),
        ("idx", "smallint"),
        ("label", "text"),
        ("token_id", "text"),
    ),
)


def fingerprint(record: Sequence[Any], m: Market) -> int:
    """A 64-bit digest of what a market's row and outcomes hold (not where they came from).

    Re-polled catalogues are mostly unchanged: comparing one stored number
    per market drops those rows before anything is staged or joined.
    """
    content = (record[:-2], [(o.index, o.label, o.token_id) for o in m.outcomes])
    digest = hashlib.blake2b(orjson.dumps(content, default=str), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _market_record(m: Market) -> tuple[Any, ...]:
    r = m.resolution
    record = (
        m.venue,
        m.native_id,
        m.event_native_id,
        m.event_title,
        m.condition_id,
        m.ticker,
        m.slug,
        m.question,
        m.description,
        m.category,
        str(m.status),
        m.end_at,
        m.updated_at,
        m.volume_total,
        m.volume_24h,
        m.liquidity,
        m.open_interest,
        m.fee_bps,
        m.tick_size,
        r.winning_outcome if r else None,
        r.is_void if r else False,
        dumps([str(p) for p in r.payouts]) if r and r.payouts is not None else None,
        r.source if r else None,
        r.resolved_at if r else None,
        dumps(m.extra),
        None,
        m.raw.bronze_id if m.raw else None,
    )
    return (*record[:-2], fingerprint(record, m), record[-1])


async def upsert_markets(
    conn: asyncpg.Connection, markets: Sequence[Market], *, synced_at: datetime | None = None
) -> WriteResult:
    """Upsert markets with their outcomes; create the events they name if missing.

    Markets whose stored fingerprint matches are left alone; new markets go
    straight into silver by COPY (`_copy_new`); changed ones, and new ones a
    concurrent writer inserted meanwhile, take the staged upsert.

    Counts are of markets; a market whose outcomes alone changed counts as
    updated. With `synced_at`, every market of the batch gets it as its
    `metadata_synced_at` in its narrow sync row (`silver.market_sync`): the
    wide row is written only when the market's content changed, so an
    unchanged venue costs no market-row write at all.
    """
    batch = last_wins(markets, lambda m: (m.venue, m.native_id))
    if not batch:
        return WriteResult()
    records = [_market_record(m) for m in batch]
    existing = await conn.fetch(
        _Q.existing_markets,
        [r[0] for r in records],
        [r[1] for r in records],
        [r[-2] for r in records],
    )
    known = {(r["venue"], r["native_id"]) for r in existing}
    identical = {(r["venue"], r["native_id"]) for r in existing if r["same"]}
    fresh = [i for i, m in enumerate(batch) if (m.venue, m.native_id) not in known]
    staged = [
        i
        for i, m in enumerate(batch)
        if (m.venue, m.native_id) in known and (m.venue, m.native_id) not in identical
    ]
    new: set[int] = set()
    if fresh:
        copied = await _copy_new(
            conn, [batch[i] for i in fresh], [records[i] for i in fresh], synced_at
        )
        if copied is None:
            staged = sorted(staged + fresh)
        else:
            new = set(copied)
    result = WriteResult(inserted=len(new), markets=set(new))
    if staged:
        result.merge(
            await _upsert_staged(conn, [batch[i] for i in staged], [records[i] for i in staged])
        )
    if synced_at is not None:
        # Known markets, plus those the staged path inserted (a market a concurrent
        # writer inserted meanwhile with the same content is stamped by that writer);
        # the sync rows of the markets COPYed in were born stamped.
        ids = ({r["id"] for r in existing} | result.markets) - new
        if ids:
            await conn.execute(_Q.stamp_markets_synced, synced_at, sorted(ids))
    result.unchanged = len(batch) - result.inserted - result.updated
    return result


async def _copy_new(
    conn: asyncpg.Connection,
    batch: Sequence[Market],
    records: Sequence[tuple[Any, ...]],
    synced_at: datetime | None,
) -> list[int] | None:
    """COPY markets not in silver, and their outcomes, straight in; their ids.

    None when a concurrent writer inserted one of them meanwhile (a unique
    violation inside the savepoint): the caller then stages them instead.
    Rows go in (venue, native_id) order, the order every writer uses. With
    `synced_at`, their sync rows are born with it as their metadata_synced_at
    (the insert trigger reads it from a setting made in the same savepoint),
    instead of being made and then stamped: one write of each, not two.
    """
    order = sorted(range(len(batch)), key=lambda i: (batch[i].venue, batch[i].native_id))
    # One entry per event (a listing names each event once per market of it).
    named = list({(r[0], r[2]): r for i in order if (r := records[i])[2] is not None}.values())
    event_ids = {
        (r["venue"], r["native_id"]): r["id"]
        for r in await conn.fetch(
            _Q.ensure_event_ids,
            [r[0] for r in named],
            [r[2] for r in named],
            [r[3] for r in named],
            [r[-1] for r in named],
        )
    }
    # The setting travels in the id reservation's statement (no round trip of its
    # own), inside the savepoint, so a failed COPY takes it back.
    synced = "" if synced_at is None else synced_at.astimezone(UTC).isoformat()
    try:
        async with conn.transaction():  # a savepoint: the staged path needs this undone
            ids = [r[0] for r in await conn.fetch(_Q.reserve_market_ids, len(order), synced)]
            rows: list[tuple[Any, ...]] = []
            outcomes: list[tuple[Any, ...]] = []
            for market_id, i in zip(ids, order, strict=True):
                row = list(records[i])
                for at in _JSON_AT:
                    row[at] = None if row[at] is None else JsonText(row[at])
                event_id = event_ids.get((row[0], row[2])) if row[2] is not None else None
                rows.append((market_id, *row, event_id))
                outcomes.extend(
                    (market_id, o.index, o.label, o.token_id)
                    for o in last_wins(batch[i].outcomes, lambda o: o.index)
                )
            await conn.copy_records_to_table(
                "markets", schema_name="silver", records=rows, columns=_COPY_MARKET_COLS
            )
            if outcomes:
                await conn.copy_records_to_table(
                    "outcomes", schema_name="silver", records=outcomes, columns=_COPY_OUTCOME_COLS
                )
    except asyncpg.UniqueViolationError:
        return None
    return ids


async def _upsert_staged(
    conn: asyncpg.Connection,
    batch: Sequence[Market],
    records: Sequence[tuple[Any, ...]],
) -> WriteResult:
    """Stage markets and upsert them, touching only rows whose content changed."""
    await stage(conn, MARKETS_IN, records)
    await conn.fetchval(_Q.minimal_events_of_staged_markets)
    rows = await conn.fetch(_MARKETS_SQL)
    new = {r["id"] for r in rows if r["inserted"]}
    changed = {r["id"] for r in rows if not r["inserted"]}
    outcomes = [
        (m.venue, m.native_id, o.index, o.label, o.token_id)
        for m in batch
        for o in last_wins(m.outcomes, lambda o: o.index)
    ]
    if outcomes:
        staged_outcomes = await merge_staged(conn, OUTCOMES_IN, outcomes, _Q.upsert_staged_outcomes)
        changed |= {r["market_id"] for r in staged_outcomes} - new
    return WriteResult(inserted=len(new), updated=len(changed), markets=new | changed)
