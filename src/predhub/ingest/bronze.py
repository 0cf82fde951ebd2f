"""Bronze: every raw venue response, stored once per distinct content and day.

A response's identity is the SHA-256 of its venue, endpoint, parameters,
status and body (canonical JSON, keys sorted), so polling an unchanged
endpoint adds no payload: the repeat is recorded in
`bronze.response_sightings` instead. Both tables are partitioned by the UTC
day of the fetch (`fetched_day`), and a content is stored once per day: an
endpoint that never changes costs one payload a day, and in return a day of
bronze is one partition of each table, which retention drops whole, with no
later sighting left pointing at a dropped payload. A batch first records sightings of the
contents already stored (one statement, hashes only); the new contents then
go straight into the table by COPY, with ids reserved from its sequence
beforehand. If a concurrent writer stored one of the same contents meanwhile
(a unique violation inside the COPY's savepoint), the batch takes the staged
path instead: COPY into a per-connection temporary table and one
INSERT ... ON CONFLICT DO NOTHING. Responses are never rewritten, only removed
by age (`predhub.ingest.retention`, driven by BRONZE_RETENTION_DAYS).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from predhub.db import partitions
from predhub.db.connect import JsonText
from predhub.db.queries import load
from predhub.ingest.silver.common import StagingTable, merge_staged
from predhub.models import RawResponse

_Q = load("bronze")
# The staged path's table: the columns of a stored response, `ord` its place in the batch.
BRONZE_IN = StagingTable(
    "ingest_bronze_in",
    (
        ("ord", "integer"),
        ("venue", "text"),
        ("endpoint", "text"),
        ("params", "text"),
        ("status", "smallint"),
        ("fetched_at", "timestamptz"),
        ("content_hash", "bytea"),
        ("payload", "text"),
        ("raw_text", "text"),
        ("load_id", "bigint"),
        ("fetched_day", "timestamptz"),
    ),
)
_HASH, _DAY = 6, 10  # where a record holds its content hash and its day

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


def fetched_day(at: datetime) -> datetime:
    """The UTC midnight of `at`: a response's partition, the span it is stored once in."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _sightings(days: Iterable[datetime]) -> list[tuple[str, Iterable[datetime]]]:
    return [(partitions.SIGHTINGS, list(days))]


def _both(days: Iterable[datetime]) -> list[tuple[str, Iterable[datetime]]]:
    days = list(days)
    return [(partitions.RESPONSES, days), (partitions.SIGHTINGS, days)]


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
        fetched_day(raw.fetched_at),
    )


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
    days = [rec[_DAY] for rec in records]
    # Contents stored already that day (a re-polled, unchanged page) only need a
    # sighting: record those first, so their payloads never cross the wire.
    known = await partitions.write_with_partitions(
        conn,
        lambda: conn.fetch(
            _Q.sight_known,
            [r[_HASH] for r in records],
            [raw.fetched_at for raw in unique],
            days,
            load_id,
            sorted(set(days)),
        ),
        lambda: _sightings(days),
    )
    ids = {(bytes(row["content_hash"]), row["fetched_day"]): row["id"] for row in known}
    for raw, rec in zip(unique, records, strict=True):
        raw.bronze_id = ids.get((rec[_HASH], rec[_DAY]))
    fresh = [rec for rec in records if (rec[_HASH], rec[_DAY]) not in ids]
    result = BronzeResult()
    stored = await _copy_new(conn, unique, fresh, load_id) if fresh else 0
    if stored is not None:
        result.new = stored
        result.seen = len(unique) - stored
        return result
    if fresh:
        merged = await merge_staged(
            conn,
            BRONZE_IN,
            fresh,
            _Q.merge_staged_responses,
            partitions=_both(rec[_DAY] for rec in fresh),
        )
        for row in merged:
            unique[row["ord"]].bronze_id = row["id"]
            result.new += 1 if row["new"] else 0
    result.seen = len(unique) - result.new
    missing = [raw for raw in unique if raw.bronze_id is None]
    if missing:
        # A concurrent writer stored the same content after this statement's snapshot.
        wanted = {(content_hash(raw), fetched_day(raw.fetched_at)): raw for raw in missing}
        found = await conn.fetch(
            _Q.response_ids_by_hash, [k[0] for k in wanted], [k[1] for k in wanted]
        )
        for row in found:
            wanted[(bytes(row["content_hash"]), row["fetched_day"])].bronze_id = row["id"]
        await _insert_sightings(
            conn,
            [
                (raw.bronze_id, raw.fetched_at, fetched_day(raw.fetched_at), load_id)
                for raw in missing
                if raw.bronze_id
            ],
        )
    return result


async def _insert_sightings(
    conn: asyncpg.Connection, rows: Sequence[tuple[int, datetime, datetime, int | None]]
) -> None:
    if rows:
        await partitions.write_with_partitions(
            conn,
            lambda: conn.executemany(_Q.insert_sighting, rows),
            lambda: _sightings(r[2] for r in rows),
        )


# The staged columns, with the reserved id for `ord`.
_DIRECT_COLUMNS = ("id", *BRONZE_IN.column_names[1:])


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
    first: dict[tuple[bytes, datetime], tuple[Any, ...]] = {}
    for rec in fresh:
        first.setdefault((rec[_HASH], rec[_DAY]), rec)
    ordered = sorted(first.values(), key=lambda rec: (rec[_HASH], rec[_DAY]))
    new_ids = [row[0] for row in await conn.fetch(_Q.reserve_response_ids, len(ordered))]
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
            rec[10],
        )
        for new_id, rec in zip(new_ids, ordered, strict=True)
    ]

    async def copy() -> None:
        await conn.copy_records_to_table(
            "api_responses", schema_name="bronze", records=rows, columns=_DIRECT_COLUMNS
        )

    try:
        await partitions.write_with_partitions(
            conn, copy, lambda: _both(rec[_DAY] for rec in ordered)
        )
    except asyncpg.UniqueViolationError:
        return None
    id_of = {(row[_HASH], row[_DAY]): row[0] for row in rows}
    first_ords = {rec[0] for rec in ordered}
    repeats: list[tuple[int, datetime, datetime, int | None]] = []
    for rec in fresh:
        raw = unique[rec[0]]
        raw.bronze_id = id_of[(rec[_HASH], rec[_DAY])]
        if rec[0] not in first_ords:
            repeats.append((raw.bronze_id, raw.fetched_at, rec[_DAY], load_id))
    await _insert_sightings(conn, repeats)
    return len(rows)
