"""Bronze: every raw venue response, stored once per distinct content.

A response's identity is the SHA-256 of its venue, endpoint, parameters,
status and body (canonical JSON, keys sorted), so polling an unchanged
endpoint adds no payload: the repeat is recorded in
`bronze.response_sightings` instead. A batch first records sightings of the
contents already stored (one statement, hashes only); the new contents then
go straight into the table by COPY, with ids reserved from its sequence
beforehand. If a concurrent writer stored one of the same contents meanwhile
(a unique violation inside the COPY's savepoint), the batch takes the staged
path instead: COPY into a per-connection temporary table and one
INSERT ... ON CONFLICT DO NOTHING. Responses are never rewritten, only removed
by age (`prune_bronze`, driven by BRONZE_RETENTION_DAYS).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import orjson

from predhub.db.connect import JsonText
from predhub.models import RawResponse

_TEMP = """
CREATE TEMP TABLE IF NOT EXISTS ingest_bronze_in (
    ord integer, venue text, endpoint text, params text, status smallint,
    fetched_at timestamptz, content_hash bytea, payload text, raw_text text, load_id bigint
) ON COMMIT DELETE ROWS
"""
_COLUMNS = (
    "ord",
    "venue",
    "endpoint",
    "params",
    "status",
    "fetched_at",
    "content_hash",
    "payload",
    "raw_text",
    "load_id",
)

# New contents are inserted; every row of the batch that was not the first
# copy of a newly inserted content becomes a sighting of the stored one.
_MERGE = """
WITH first AS (
    SELECT content_hash, min(ord) AS ord FROM ingest_bronze_in GROUP BY content_hash
), ins AS (
    INSERT INTO bronze.api_responses
        (venue, endpoint, params, status, fetched_at, content_hash, payload, raw_text, load_id)
    SELECT b.venue, b.endpoint, b.params::jsonb, b.status, b.fetched_at, b.content_hash,
           b.payload::jsonb, b.raw_text, b.load_id
    -- hash order (against deadlocks between writers) without sorting the payloads
    FROM (SELECT ord FROM first ORDER BY content_hash) f
    CROSS JOIN LATERAL (SELECT * FROM ingest_bronze_in x WHERE x.ord = f.ord) b
    ON CONFLICT (content_hash) DO NOTHING
    RETURNING id, content_hash
), known AS (
    SELECT id, content_hash FROM ins
    UNION ALL
    SELECT r.id, r.content_hash FROM bronze.api_responses r
    WHERE r.content_hash IN (SELECT content_hash FROM ingest_bronze_in)
), seen AS (
    INSERT INTO bronze.response_sightings (response_id, fetched_at, load_id)
    SELECT k.id, b.fetched_at, b.load_id
    FROM ingest_bronze_in b JOIN known k USING (content_hash) JOIN first f USING (content_hash)
    WHERE NOT (b.ord = f.ord AND b.content_hash IN (SELECT content_hash FROM ins))
)
SELECT b.ord, k.id, (b.ord = f.ord AND i.id IS NOT NULL) AS new
FROM ingest_bronze_in b
JOIN known k USING (content_hash)
JOIN first f USING (content_hash)
LEFT JOIN ins i USING (content_hash)
"""

# A sighting for every response whose content is stored already; returns their ids.
_SIGHT_KNOWN = """
WITH known AS (
    SELECT id, content_hash FROM bronze.api_responses WHERE content_hash = ANY($1::bytea[])
), seen AS (
    INSERT INTO bronze.response_sightings (response_id, fetched_at, load_id)
    SELECT k.id, i.fetched_at, $3::bigint
    FROM unnest($1::bytea[], $2::timestamptz[]) AS i (content_hash, fetched_at)
    JOIN known k USING (content_hash)
)
SELECT id, content_hash FROM known
"""

_ZERO = b"\\u0000"


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)


def content_hash(raw: RawResponse, body: bytes | None = None) -> bytes:
    """The identity of a response: what was asked, and what came back.

    `body` is the body's canonical JSON when the caller already has it (the
    serialisation is the costly part of hashing a large page: do it once).
    """
    h = hashlib.sha256()
    h.update(_dumps([raw.venue, raw.endpoint, raw.params, raw.status]))
    h.update(b"\x00")
    if raw.body is not None:
        h.update(body if body is not None else _dumps(raw.body))
    elif raw.text is not None:
        h.update(b"t" + raw.text.encode("utf-8", "replace"))
    return h.digest()


def _record(ord_: int, raw: RawResponse, load_id: int | None) -> tuple[Any, ...]:
    payload: str | None = None
    text = raw.text
    data: bytes | None = None
    if raw.body is not None:
        data = _dumps(raw.body)
        if _ZERO in data:  # PostgreSQL's jsonb cannot hold NUL; keep the text instead
            text = data.decode().replace("\\u0000", "")
        else:
            payload = data.decode()
    if text is not None:
        text = text.replace("\x00", "")
    return (
        ord_,
        raw.venue,
        raw.endpoint,
        _dumps(raw.params).decode(),
        raw.status,
        raw.fetched_at,
        content_hash(raw, data),
        payload,
        text,
        load_id,
    )


async def ensure_temp(conn: asyncpg.Connection) -> None:
    await conn.execute(_TEMP)


class BronzeResult:
    """How many responses were new and how many were repeats."""

    __slots__ = ("new", "seen")

    def __init__(self, new: int = 0, seen: int = 0) -> None:
        self.new = new
        self.seen = seen


async def store_responses(
    conn: asyncpg.Connection, raws: Sequence[RawResponse], *, load_id: int | None = None
) -> BronzeResult:
    """Store `raws` (inside the caller's transaction) and set each one's `bronze_id`.

    The same `RawResponse` object may appear several times (one page shared by
    many items); it is stored once.
    """
    unique: list[RawResponse] = []
    seen_ids: set[int] = set()
    for raw in raws:
        if raw.bronze_id is None and id(raw) not in seen_ids:
            seen_ids.add(id(raw))
            unique.append(raw)
    if not unique:
        return BronzeResult()
    records = [_record(i, raw, load_id) for i, raw in enumerate(unique)]
    # Contents stored already (a re-polled, unchanged page) only need a
    # sighting: record those first, so their payloads never cross the wire.
    known = await conn.fetch(
        _SIGHT_KNOWN, [r[6] for r in records], [raw.fetched_at for raw in unique], load_id
    )
    ids = {bytes(row["content_hash"]): row["id"] for row in known}
    for raw, rec in zip(unique, records, strict=True):
        raw.bronze_id = ids.get(rec[6])
    fresh = [rec for rec in records if rec[6] not in ids]
    result = BronzeResult()
    stored = await _copy_new(conn, unique, fresh, load_id) if fresh else 0
    if stored is not None:
        result.new = stored
        result.seen = len(unique) - stored
        return result
    if fresh:
        await ensure_temp(conn)
        await conn.execute("TRUNCATE ingest_bronze_in")
        await conn.copy_records_to_table("ingest_bronze_in", records=fresh, columns=_COLUMNS)
        for row in await conn.fetch(_MERGE):
            unique[row["ord"]].bronze_id = row["id"]
            result.new += 1 if row["new"] else 0
    result.seen = len(unique) - result.new
    missing = [raw for raw in unique if raw.bronze_id is None]
    if missing:
        # A concurrent writer stored the same content after this statement's snapshot.
        hashes = {content_hash(raw): raw for raw in missing}
        found = await conn.fetch(
            "SELECT id, content_hash FROM bronze.api_responses WHERE content_hash = ANY($1)",
            list(hashes),
        )
        for row in found:
            hashes[bytes(row["content_hash"])].bronze_id = row["id"]
        await conn.executemany(
            "INSERT INTO bronze.response_sightings (response_id, fetched_at, load_id) "
            "VALUES ($1, $2, $3)",
            [(raw.bronze_id, raw.fetched_at, load_id) for raw in missing if raw.bronze_id],
        )
    return result


_RESERVE_IDS = (
    "SELECT nextval(pg_get_serial_sequence('bronze.api_responses', 'id'))"
    " FROM generate_series(1, $1)"
)
_DIRECT_COLUMNS = ("id", *_COLUMNS[1:])  # the staged columns, with the reserved id for `ord`


async def _copy_new(
    conn: asyncpg.Connection,
    unique: Sequence[RawResponse],
    fresh: Sequence[tuple[Any, ...]],
    load_id: int | None,
) -> int | None:
    """COPY new contents straight into bronze; how many, or None if a concurrent writer interfered.

    The first response of each new content is stored (in hash order, the
    order every writer uses, so two writers cannot deadlock on each other's
    keys); later responses with the same content in this batch become
    sightings of it.
    """
    first: dict[bytes, tuple[Any, ...]] = {}
    for rec in fresh:
        first.setdefault(rec[6], rec)
    ordered = sorted(first.values(), key=lambda rec: rec[6])
    new_ids = [row[0] for row in await conn.fetch(_RESERVE_IDS, len(ordered))]
    rows = [
        (
            new_id,
            rec[1],
            rec[2],
            JsonText(rec[3]),
            rec[4],
            rec[5],
            rec[6],
            None if rec[7] is None else JsonText(rec[7]),
            rec[8],
            rec[9],
        )
        for new_id, rec in zip(new_ids, ordered, strict=True)
    ]
    try:
        async with conn.transaction():  # a savepoint: the staged path needs this undone
            await conn.copy_records_to_table(
                "api_responses", schema_name="bronze", records=rows, columns=_DIRECT_COLUMNS
            )
    except asyncpg.UniqueViolationError:
        return None
    id_of = {row[6]: row[0] for row in rows}
    first_ords = {rec[0] for rec in ordered}
    repeats: list[tuple[int, Any, int | None]] = []
    for rec in fresh:
        raw = unique[rec[0]]
        raw.bronze_id = id_of[rec[6]]
        if rec[0] not in first_ords:
            repeats.append((raw.bronze_id, raw.fetched_at, load_id))
    if repeats:
        await conn.executemany(
            "INSERT INTO bronze.response_sightings (response_id, fetched_at, load_id) "
            "VALUES ($1, $2, $3)",
            repeats,
        )
    return len(rows)


async def prune_bronze(conn: asyncpg.Connection, *, retention_days: int) -> int:
    """Delete responses older than the retention (their sightings go with them)."""
    status = await conn.execute(
        "DELETE FROM bronze.api_responses WHERE fetched_at < now() - $1::interval",
        timedelta(days=retention_days),
    )
    return int(status.split()[-1])
