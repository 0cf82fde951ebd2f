"""Streaming exports: CSV, NDJSON and Parquet straight from the database, in flat memory.

Bulk rows (a market's or a venue's trades, a venue's markets and price
history) leave PostgreSQL through `COPY (query) TO STDOUT (FORMAT csv)`:
the server formats them, asyncpg hands over the bytes as they arrive, and a
bounded queue holds the database back when the reader is slower. CSV goes
out as it comes; for NDJSON and Parquet the stream is cut at record
boundaries into batches of about `BATCH_BYTES`, each parsed by Arrow's C++
CSV reader into typed columns and written as one Parquet row group (or as
JSON lines). Python never touches a row one by one on the Parquet path, which
is what keeps it near the speed of a bare COPY; memory holds a few batches
whatever the number of rows.

Rows already built in Python (a page of market documents, candles) use the
same writers through `encode_rows`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from predhub.db.queries import load

Format = Literal["csv", "ndjson", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson", "parquet")
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
EXTENSIONS: dict[Format, str] = {"csv": "csv", "ndjson": "ndjson", "parquet": "parquet"}
BATCH_BYTES = 4 * 1024 * 1024
QUEUE_CHUNKS = 16  # COPY chunks held before the database waits for the reader
AHEAD_BATCHES = 1  # read batches waiting while one is encoded
# Text columns with few distinct values, worth a Parquet dictionary.
DICTIONARY_COLUMNS = frozenset({"venue", "side", "status", "category", "source", "outcome_label"})

_Q = load("export")


def _lean_memory_pool() -> None:
    """Use Arrow's jemalloc pool unless ARROW_DEFAULT_MEMORY_POOL names one.

    The default (mimalloc) keeps freed pages per thread; with batches encoded in
    worker threads a two-slice export peaked some 60 MB higher with it than with
    jemalloc, which hands them back."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


_lean_memory_pool()
_UTC = pa.timestamp("us", tz="UTC")

TRADES = pa.schema(
    [
        ("id", pa.int64()),
        ("venue", pa.string()),
        ("market_id", pa.int64()),
        ("outcome", pa.int16()),
        ("price", pa.float64()),
        ("size", pa.float64()),
        ("side", pa.string()),
        ("executed_at", _UTC),
        ("trade_key", pa.string()),
        ("tx_hash", pa.string()),
    ]
)
MARKETS = pa.schema(
    [
        ("market_id", pa.int64()),
        ("venue", pa.string()),
        ("native_id", pa.string()),
        ("condition_id", pa.string()),
        ("ticker", pa.string()),
        ("slug", pa.string()),
        ("question", pa.string()),
        ("category", pa.string()),
        ("status", pa.string()),
        ("end_at", _UTC),
        ("volume_24h", pa.float64()),
        ("volume_total", pa.float64()),
        ("liquidity", pa.float64()),
        ("outcome", pa.int16()),
        ("outcome_label", pa.string()),
        ("token_id", pa.string()),
        ("price", pa.float64()),
        ("best_bid", pa.float64()),
        ("best_ask", pa.float64()),
    ]
)
HISTORY = pa.schema(
    [
        ("market_id", pa.int64()),
        ("outcome", pa.int16()),
        ("ts", _UTC),
        ("price", pa.float64()),
        ("source", pa.string()),
    ]
)
CANDLES = pa.schema(
    [
        ("t", _UTC),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
        ("points", pa.int64()),
    ]
)


@dataclass(frozen=True, slots=True)
class BulkQuery:
    """A named export query with its arguments and the Arrow schema of its rows."""

    sql: str
    args: tuple[Any, ...]
    schema: pa.Schema

    @property
    def copy_sql(self) -> str:
        return self.sql.rstrip().rstrip(";")


def market_trades(market_id: int) -> BulkQuery:
    return BulkQuery(_Q.trades_of_market, (market_id,), TRADES)


def venue_trades(venue: str, since: Any, until: Any) -> BulkQuery:
    return BulkQuery(_Q.trades_of_venue, (venue, since, until), TRADES)


def venue_markets(venue: str) -> BulkQuery:
    return BulkQuery(_Q.markets_of_venue, (venue,), MARKETS)


def venue_history(venue: str, since: Any, until: Any) -> BulkQuery:
    return BulkQuery(_Q.history_of_venue, (venue, since, until), HISTORY)


_END = object()
Put = Callable[[bytes], Awaitable[None]]


async def _ahead(produce: Callable[[Put], Awaitable[None]], size: int) -> AsyncGenerator[bytes]:
    """What `produce` puts, from a task of its own that stays up to `size` items ahead of the
    reader; its failure is raised here, and closing the reader stops it."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=size)

    async def put(data: bytes) -> None:
        await queue.put(bytes(data))

    async def run() -> None:
        try:
            await produce(put)
        except Exception as exc:  # handed to the reader, which raises it
            await queue.put(exc)
            return
        await queue.put(_END)

    task = asyncio.create_task(run())
    try:
        while True:
            item = await queue.get()
            if item is _END:
                break
            if isinstance(item, Exception):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def copy_chunks(
    pool: asyncpg.Pool, query: BulkQuery, *, fmt: str = "csv"
) -> AsyncGenerator[bytes]:
    """The query's rows as COPY output (`fmt` csv or binary), chunk by chunk, as they arrive."""

    async def copy(put: Put) -> None:
        async with pool.acquire() as conn:
            await conn.copy_from_query(query.copy_sql, *query.args, output=put, format=fmt)

    async with contextlib.aclosing(_ahead(copy, QUEUE_CHUNKS)) as chunks:
        async for chunk in chunks:
            yield chunk


def record_cut(buffer: bytes | bytearray) -> int:
    """The length of the longest prefix of `buffer` made of whole CSV records (0 if none).

    A newline ends a record when an even number of quote characters precede it:
    quotes in CSV come in pairs, so an odd count means the newline is inside a
    quoted value (a market's question may hold line breaks).
    """
    end = buffer.rfind(b"\n")
    while end >= 0:
        if buffer.count(b'"', 0, end) % 2 == 0:
            return end + 1
        end = buffer.rfind(b"\n", 0, end)
    return 0


async def csv_batches(
    chunks: AsyncIterator[bytes], size: int = BATCH_BYTES
) -> AsyncGenerator[bytes]:
    """COPY output regrouped into batches of whole records of about `size` bytes.

    Chunks are joined once per batch (not appended one by one), and only the
    partial record at the end is carried over to the next batch.
    """
    parts: list[bytes] = []
    held = 0
    async for chunk in chunks:
        parts.append(chunk)
        held += len(chunk)
        if held >= size:
            joined = b"".join(parts)
            cut = record_cut(joined)
            if cut:
                yield joined[:cut] if cut < len(joined) else joined
                rest = joined[cut:]
                parts, held = ([rest] if rest else []), len(rest)
            else:
                parts = [joined]
    if held:
        yield b"".join(parts)


def parse_batch(data: bytes, schema: pa.Schema) -> pa.Table:
    """One batch of PostgreSQL CSV (no header) as an Arrow table of `schema`.

    Single-threaded: batches are already encoded beside the database read, and
    Arrow's own threads only add switching on a busy machine."""
    return pa_csv.read_csv(
        pa.py_buffer(data),
        read_options=pa_csv.ReadOptions(column_names=schema.names, use_threads=False),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=schema,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


class _Sink:
    """A file object for pyarrow's writers whose bytes are taken as they are written."""

    closed = False

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def csv_header(schema: pa.Schema) -> bytes:
    return (",".join(schema.names) + "\n").encode()


class TableWriter:
    """Arrow tables in, bytes of one format out; `finish()` closes the file (Parquet)."""

    def __init__(self, schema: pa.Schema, fmt: Format) -> None:
        self.schema = schema
        self.fmt = fmt
        self._sink = _Sink()
        self._parquet: pq.ParquetWriter | None = None
        self._started = False

    def write(self, table: pa.Table) -> bytes:
        if self.fmt == "parquet":
            if self._parquet is None:
                self._parquet = self._open_parquet()
            self._parquet.write_table(table)
            return self._sink.take()
        if self.fmt == "ndjson":
            return b"".join(orjson.dumps(row) + b"\n" for row in table.to_pylist())
        header = not self._started
        self._started = True
        pa_csv.write_csv(
            table, self._sink, write_options=pa_csv.WriteOptions(include_header=header)
        )
        return self._sink.take()

    def _open_parquet(self) -> pq.ParquetWriter:
        # Dictionary-encode only the few-valued text columns: on ids, keys and hashes a
        # dictionary is built, found too large and dropped, for every row group.
        few = [name for name in self.schema.names if name in DICTIONARY_COLUMNS]
        return pq.ParquetWriter(self._sink, self.schema, use_dictionary=few)

    def finish(self) -> bytes:
        if self.fmt == "parquet":
            if self._parquet is None:
                self._parquet = self._open_parquet()
            self._parquet.close()
            return self._sink.take()
        if self.fmt == "csv" and not self._started:
            return csv_header(self.schema)
        return b""


async def encode_copy(
    pool: asyncpg.Pool, query: BulkQuery, fmt: Format, *, counter: list[int] | None = None
) -> AsyncIterator[bytes]:
    """The query's rows in `fmt`, streamed. `counter[0]` counts rows (Arrow formats only).

    For NDJSON and Parquet the work is pipelined: a task keeps reading the COPY
    stream into the next batch while a worker thread parses and encodes the
    previous one (Arrow releases the GIL), so the database is not held back
    while a batch is encoded. At most `AHEAD_BATCHES` read batches wait.
    """
    if fmt == "csv":  # PostgreSQL's CSV as it comes, under a header line
        yield csv_header(query.schema)
        async with contextlib.aclosing(copy_chunks(pool, query)) as chunks:
            async for chunk in chunks:
                if counter is not None:
                    counter[0] += chunk.count(b"\n")
                yield chunk
        return
    writer = TableWriter(query.schema, fmt)

    async def read(put: Put) -> None:
        async with (
            contextlib.aclosing(copy_chunks(pool, query)) as chunks,
            contextlib.aclosing(csv_batches(chunks)) as grouped,
        ):
            async for batch in grouped:
                await put(batch)

    def encode(batch: bytes) -> tuple[int, bytes]:
        table = parse_batch(batch, query.schema)
        return table.num_rows, writer.write(table)

    async with contextlib.aclosing(_ahead(read, AHEAD_BATCHES)) as batches:
        async for batch in batches:
            rows, data = await asyncio.to_thread(encode, batch)
            if counter is not None:
                counter[0] += rows
            if data:
                yield data
    yield writer.finish()


def encode_rows(
    rows: Iterable[dict[str, Any]], schema: pa.Schema, fmt: Format, batch_rows: int = 5000
) -> Iterator[bytes]:
    """Rows built in Python, in `fmt`, `batch_rows` at a time."""
    writer = TableWriter(schema, fmt)
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_rows:
            yield writer.write(pa.Table.from_pylist(batch, schema))
            batch = []
    if batch:
        yield writer.write(pa.Table.from_pylist(batch, schema))
    yield writer.finish()


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def market_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """A market document as MARKETS rows: one per outcome, the market's fields repeated."""
    base = {
        "market_id": doc["id"],
        "venue": doc.get("venue"),
        "native_id": doc.get("native_id"),
        "condition_id": doc.get("condition_id"),
        "ticker": doc.get("ticker"),
        "slug": doc.get("slug"),
        "question": doc.get("question"),
        "category": doc.get("category"),
        "status": doc.get("status"),
        "end_at": _when(doc.get("end_at")),
        "volume_24h": doc.get("volume_24h"),
        "volume_total": doc.get("volume_total"),
        "liquidity": doc.get("liquidity"),
    }
    return [
        base
        | {
            "outcome": o.get("index"),
            "outcome_label": o.get("label"),
            "token_id": o.get("token_id"),
            "price": o.get("price"),
            "best_bid": o.get("best_bid"),
            "best_ask": o.get("best_ask"),
        }
        for o in doc.get("outcomes") or ()
    ]


async def encode_documents(
    pages: AsyncIterator[list[dict[str, Any]]], fmt: Format
) -> AsyncIterator[bytes]:
    """Pages of market documents (read one page at a time) as MARKETS rows in `fmt`."""
    writer = TableWriter(MARKETS, fmt)
    async for docs in pages:
        rows = [row for doc in docs for row in market_rows(doc)]
        if rows:
            data = writer.write(pa.Table.from_pylist(rows, MARKETS))
            if data:
                yield data
    yield writer.finish()
