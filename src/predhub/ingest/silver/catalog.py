"""Silver writers for the catalogue: events, markets and their outcomes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from predhub.db.connect import JsonText
from predhub.ingest.silver.common import WriteResult, copy_in, dumps, last_wins
from predhub.models import Event, Market

_EVENT_DDL = """
    venue text, native_id text, slug text, title text, description text, category text,
    tags text[], start_at timestamptz, end_at timestamptz, neg_risk boolean,
    mutually_exclusive boolean, status text, volume_total numeric, extra text, bronze_id bigint
"""
_EVENT_COLS = (
    "venue",
    "native_id",
    "slug",
    "title",
    "description",
    "category",
    "tags",
    "start_at",
    "end_at",
    "neg_risk",
    "mutually_exclusive",
    "status",
    "volume_total",
    "extra",
    "bronze_id",
)
_EVENT_DATA = [c for c in _EVENT_COLS if c not in ("venue", "native_id", "bronze_id")]


def _cast(col: str, prefix: str = "") -> str:
    return f"{prefix}{col}::jsonb AS {col}" if col in ("extra", "payouts") else f"{prefix}{col}"


def _upsert_sql(
    target: str,
    alias: str,
    cols: Sequence[str],
    data: Sequence[str],
    source: str,
    stamps: Sequence[str] = (),
) -> str:
    """Upsert rows of `source` into `target`, touching only new or changed ones.

    Rows identical to the stored ones are filtered out by a join first, so
    they cost neither a row lock nor a generated-column computation. Changed
    rows that exist are then UPDATEd by id, and only new rows go through
    INSERT ... ON CONFLICT: an INSERT that meets a conflict has already
    computed the proposed row's generated columns (silver.markets' search
    vector, the costliest expression of a load), which the UPDATE then
    computes again; sending existing rows straight to UPDATE halves that
    work. Rows to update are locked in (venue, native_id) order first, the
    order the INSERT uses too, so concurrent writers cannot deadlock; the
    ON CONFLICT clause covers a row a concurrent writer inserted meanwhile.
    """
    sets = ", ".join(f"{c} = excluded.{c}" for c in (*data, "bronze_id"))
    sets += "".join(f", {c} = coalesce(excluded.{c}, {alias}.{c})" for c in stamps)
    upd_sets = ", ".join(f"{c} = d.{c}" for c in (*data, "bronze_id"))
    upd_sets += "".join(f", {c} = coalesce(d.{c}, {alias}.{c})" for c in stamps)
    old = ", ".join(f"{alias}.{c}" for c in data)
    new = ", ".join(f"excluded.{c}" for c in data)
    fresh = ", ".join(f"d.{c}" for c in data)
    cur = ", ".join(f"cur.{c}" for c in data)
    src = ", ".join(f"s.{c}" for c in data)
    col_list = ", ".join(cols)
    return f"""
WITH src AS ({source}
), delta AS (
    SELECT s.*, cur.id AS cur_id FROM src s
    LEFT JOIN {target} cur ON cur.venue = s.venue AND cur.native_id = s.native_id
    WHERE cur.id IS NULL OR ({cur}) IS DISTINCT FROM ({src})
), locked AS MATERIALIZED (
    SELECT x.id FROM {target} x
    WHERE x.id IN (SELECT cur_id FROM delta WHERE cur_id IS NOT NULL)
    ORDER BY x.venue, x.native_id
    FOR UPDATE
), upd AS (
    UPDATE {target} AS {alias} SET {upd_sets}, updated_at = now()
    FROM delta d
    WHERE {alias}.id = d.cur_id AND {alias}.id IN (SELECT id FROM locked)
      AND ({old}) IS DISTINCT FROM ({fresh})
    RETURNING {alias}.id
), ins AS (
    INSERT INTO {target} AS {alias} ({col_list})
    SELECT {col_list} FROM delta WHERE cur_id IS NULL ORDER BY venue, native_id
    ON CONFLICT (venue, native_id) DO UPDATE SET {sets}, updated_at = now()
    WHERE ({old}) IS DISTINCT FROM ({new})
    RETURNING id, (xmax = 0) AS inserted
)
SELECT id, false AS inserted FROM upd
UNION ALL
SELECT id, inserted FROM ins
"""


_EVENTS_SQL = _upsert_sql(
    "silver.events",
    "e",
    _EVENT_COLS,
    _EVENT_DATA,
    "SELECT " + ", ".join(_cast(c) for c in _EVENT_COLS) + " FROM ingest_events_in",
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
    await copy_in(conn, "ingest_events_in", _EVENT_DDL, _EVENT_COLS, map(_event_record, batch))
    rows = await conn.fetch(_EVENTS_SQL)
    inserted = sum(1 for r in rows if r["inserted"])
    updated = len(rows) - inserted
    return WriteResult(inserted=inserted, updated=updated, unchanged=len(batch) - len(rows))


_MARKET_DDL = """
    venue text, native_id text, event_native_id text, event_title text, condition_id text,
    ticker text, slug text, question text, description text, category text, status text,
    end_at timestamptz, venue_updated_at timestamptz, volume_total numeric, volume_24h numeric,
    liquidity numeric, open_interest numeric, fee_bps numeric, tick_size numeric,
    winning_outcome smallint, is_void boolean, payouts text, resolution_source text,
    resolved_at timestamptz, extra text, row_fingerprint bigint, bronze_id bigint
"""
_MARKET_COLS = (
    "venue",
    "native_id",
    "event_native_id",
    "event_title",
    "condition_id",
    "ticker",
    "slug",
    "question",
    "description",
    "category",
    "status",
    "end_at",
    "venue_updated_at",
    "volume_total",
    "volume_24h",
    "liquidity",
    "open_interest",
    "fee_bps",
    "tick_size",
    "winning_outcome",
    "is_void",
    "payouts",
    "resolution_source",
    "resolved_at",
    "extra",
    "row_fingerprint",
    "bronze_id",
)
_MARKET_DATA = [c for c in _MARKET_COLS if c not in ("venue", "native_id", "bronze_id")]

# $1: the metadata sync time to record on rows written (NULL: leave it).
_MARKETS_SQL = _upsert_sql(
    "silver.markets",
    "m",
    (*_MARKET_COLS, "event_id", "metadata_synced_at"),
    (*_MARKET_DATA, "event_id"),
    "SELECT "
    + ", ".join(_cast(c, "t.") for c in _MARKET_COLS)
    + ", ev.id AS event_id, $1::timestamptz AS metadata_synced_at FROM ingest_markets_in t"
    + " LEFT JOIN silver.events ev ON ev.venue = t.venue AND ev.native_id = t.event_native_id",
    stamps=("metadata_synced_at",),
)

# Rows the upsert left alone were still synced: record that, and nothing else.
_STAMP_UNCHANGED_SQL = """
UPDATE silver.markets m SET metadata_synced_at = $1
FROM (SELECT id FROM silver.markets WHERE id = ANY($2::bigint[]) ORDER BY id FOR UPDATE) l
WHERE m.id = l.id
"""

# The batch's markets that exist, and whether their content is identical
# (same fingerprint).
_EXISTING_SQL = """
SELECT m.id, m.venue, m.native_id, m.row_fingerprint IS NOT DISTINCT FROM k.fingerprint AS same
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k (venue, native_id, fingerprint)
JOIN silver.markets m ON m.venue = k.venue AND m.native_id = k.native_id
"""

# New markets' events: create the missing ones (minimal, as below) and return
# the ids of all of them.
_EVENT_IDS_SQL = """
WITH k AS (
    SELECT DISTINCT ON (venue, native_id) venue, native_id, title, bronze_id
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
        AS k (venue, native_id, title, bronze_id)
    ORDER BY venue, native_id
), ins AS (
    INSERT INTO silver.events (venue, native_id, title, bronze_id)
    SELECT venue, native_id, coalesce(title, native_id), bronze_id FROM k
    ON CONFLICT (venue, native_id) DO NOTHING
    RETURNING venue, native_id, id
)
SELECT venue, native_id, id FROM ins
UNION ALL
SELECT e.venue, e.native_id, e.id FROM k JOIN silver.events e USING (venue, native_id)
"""
_RESERVE_MARKET_IDS = (
    "SELECT nextval(pg_get_serial_sequence('silver.markets', 'id')) FROM generate_series(1, $1)"
)
_COPY_MARKET_COLS = ("id", *_MARKET_COLS, "event_id", "metadata_synced_at")
_JSON_AT = (_MARKET_COLS.index("payouts"), _MARKET_COLS.index("extra"))
_COPY_OUTCOME_COLS = ("market_id", "idx", "label", "token_id")

# Markets may reference events only their own listing names: create minimal ones
# (never overwriting a full event the events listing wrote).
_MINIMAL_EVENTS_SQL = """
WITH ins AS (
    INSERT INTO silver.events (venue, native_id, title, bronze_id)
    SELECT DISTINCT ON (venue, event_native_id)
           venue, event_native_id, coalesce(event_title, event_native_id), bronze_id
    FROM ingest_markets_in
    WHERE event_native_id IS NOT NULL
    ORDER BY venue, event_native_id
    ON CONFLICT (venue, native_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM ins
"""

_OUTCOME_DDL = "venue text, market_native_id text, idx smallint, label text, token_id text"
_OUTCOME_COLS = ("venue", "market_native_id", "idx", "label", "token_id")
_OUTCOMES_SQL = """
WITH up AS (
    INSERT INTO silver.outcomes AS o (market_id, idx, label, token_id)
    SELECT m.id, t.idx, t.label, t.token_id
    FROM ingest_outcomes_in t
    JOIN silver.markets m ON m.venue = t.venue AND m.native_id = t.market_native_id
    LEFT JOIN silver.outcomes cur ON cur.market_id = m.id AND cur.idx = t.idx
    WHERE cur.id IS NULL OR (cur.label, cur.token_id) IS DISTINCT FROM (t.label, t.token_id)
    ORDER BY m.id, t.idx
    ON CONFLICT (market_id, idx) DO UPDATE SET label = excluded.label, token_id = excluded.token_id
    WHERE (o.label, o.token_id) IS DISTINCT FROM (excluded.label, excluded.token_id)
    RETURNING market_id
)
SELECT DISTINCT market_id FROM up
"""


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
    `metadata_synced_at`: written rows in the write itself, the others by a
    narrow update (never a second rewrite of a changed row).
    """
    batch = last_wins(markets, lambda m: (m.venue, m.native_id))
    if not batch:
        return WriteResult()
    records = [_market_record(m) for m in batch]
    existing = await conn.fetch(
        _EXISTING_SQL,
        [r[0] for r in records],
        [r[1] for r in records],
        [r[-2] for r in records],
    )
    known = {(r["venue"], r["native_id"]) for r in existing}
    same = [r["id"] for r in existing if r["same"]]
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
            await _upsert_staged(
                conn, [batch[i] for i in staged], [records[i] for i in staged], synced_at
            )
        )
    if synced_at is not None and same:
        await conn.execute(_STAMP_UNCHANGED_SQL, synced_at, same)
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
    Rows go in (venue, native_id) order, the order every writer uses.
    """
    order = sorted(range(len(batch)), key=lambda i: (batch[i].venue, batch[i].native_id))
    named = [records[i] for i in order if records[i][2] is not None]
    event_ids = {
        (r["venue"], r["native_id"]): r["id"]
        for r in await conn.fetch(
            _EVENT_IDS_SQL,
            [r[0] for r in named],
            [r[2] for r in named],
            [r[3] for r in named],
            [r[-1] for r in named],
        )
    }
    ids = [r[0] for r in await conn.fetch(_RESERVE_MARKET_IDS, len(order))]
    rows: list[tuple[Any, ...]] = []
    outcomes: list[tuple[Any, ...]] = []
    for market_id, i in zip(ids, order, strict=True):
        row = list(records[i])
        for at in _JSON_AT:
            row[at] = None if row[at] is None else JsonText(row[at])
        event_id = event_ids.get((row[0], row[2])) if row[2] is not None else None
        rows.append((market_id, *row, event_id, synced_at))
        outcomes.extend(
            (market_id, o.index, o.label, o.token_id)
            for o in last_wins(batch[i].outcomes, lambda o: o.index)
        )
    try:
        async with conn.transaction():  # a savepoint: the staged path needs this undone
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
    synced_at: datetime | None,
) -> WriteResult:
    """Stage markets and upsert them, touching only rows whose content changed."""
    await copy_in(conn, "ingest_markets_in", _MARKET_DDL, _MARKET_COLS, records)
    await conn.fetchval(_MINIMAL_EVENTS_SQL)
    rows = await conn.fetch(_MARKETS_SQL, synced_at)
    new = {r["id"] for r in rows if r["inserted"]}
    changed = {r["id"] for r in rows if not r["inserted"]}
    outcomes = [
        (m.venue, m.native_id, o.index, o.label, o.token_id)
        for m in batch
        for o in last_wins(m.outcomes, lambda o: o.index)
    ]
    if outcomes:
        await copy_in(conn, "ingest_outcomes_in", _OUTCOME_DDL, _OUTCOME_COLS, outcomes)
        changed |= {r["market_id"] for r in await conn.fetch(_OUTCOMES_SQL)} - new
    if synced_at is not None and len(rows) < len(batch):
        # Rows the upsert found identical (stored before fingerprints were, say)
        # were synced all the same.
        await conn.execute(
            "UPDATE silver.markets m SET metadata_synced_at = $1 FROM ingest_markets_in t "
            "WHERE m.venue = t.venue AND m.native_id = t.native_id "
            "AND NOT (m.id = ANY($2::bigint[]))",
            synced_at,
            [r["id"] for r in rows],
        )
    return WriteResult(inserted=len(new), updated=len(changed), markets=new | changed)
