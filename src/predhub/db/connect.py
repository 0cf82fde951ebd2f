"""Where the database is, and connection pools to it.

`database()` is the one place that decides between the configured server and
the embedded one; every command goes through it.
"""

from __future__ import annotations

import asyncio
import atexit
import json
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from predhub.db.embedded import EmbeddedPostgres
from predhub.db.errors import DATABASE_FAILURES
from predhub.db.errors import DatabaseUnavailable as DatabaseUnavailable
from predhub.settings import Settings, get_settings


@dataclass
class Database:
    """A resolved database: its URL and, when embedded, the server handle.

    `session_url` is where work that needs a session of its own connects (LISTEN,
    the migrations' session lock): DATABASE_SESSION_URL, else `url`. Behind a
    transaction-mode pooler `url` reaches the pooler and `session_url` the server.
    """

    url: str
    embedded: EmbeddedPostgres | None = None
    session_url: str = ""

    def __post_init__(self) -> None:
        self.session_url = self.session_url or self.url

    @property
    def is_embedded(self) -> bool:
        return self.embedded is not None

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def resolve_database(settings: Settings, *, stop_at_exit: bool = True) -> Database:
    """Use DATABASE_URL (or POSTGRES_*) when set; otherwise start or attach the embedded server."""
    explicit = settings.explicit_database_url()
    session = settings.session_database_url() or ""
    if explicit:
        return Database(url=explicit, session_url=session)
    embedded = EmbeddedPostgres(
        settings.data_dir,
        port=settings.embedded_pg_port,
        wal_archive=settings.wal_archive_dir,
        archive_timeout=settings.wal_archive_timeout_seconds,
    )
    server = embedded.ensure_running()
    if stop_at_exit:
        atexit.register(embedded.stop)
    return Database(url=server.url, embedded=embedded, session_url=session)


class JsonText(str):
    """JSON that is already serialised: sent to a json or jsonb column as it is.

    Large payloads (bronze pages) are serialised once, canonically, for their
    content hash; encoding them again per column would double that cost.
    """

    __slots__ = ()


def _encode_json(value: Any) -> bytes:
    """A value's JSON text: orjson, a tenth of the standard library's cost per value.

    Every trade and quote row carries a jsonb column, so this runs once per row of
    each COPY; dictionary keys that are not strings become strings, as `json.dumps`
    made them.
    """
    if isinstance(value, JsonText):
        return value.encode()
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + _encode_json(value)  # jsonb's binary format: version 1, then the text


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    """jsonb and json columns arrive as Python objects, not strings.

    The binary format lets COPY (which always sends binary) write jsonb too.
    """
    await conn.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )
    await conn.set_type_codec(
        "json", encoder=_encode_json, decoder=json.loads, schema="pg_catalog", format="binary"
    )


def statement_cache(size: int | None) -> int:
    """asyncpg's prepared-statement cache size: `size`, else DB_STATEMENT_CACHE_SIZE.

    Behind PgBouncer in transaction mode (before 1.21's max_prepared_statements)
    a statement prepared on one server connection is unknown on the next, so the
    cache must be off (0) there; against PostgreSQL itself it saves a parse per query.
    """
    return get_settings().db_statement_cache_size if size is None else size


async def connect(
    url: str, *, statement_cache_size: int | None = None, **kwargs: Any
) -> asyncpg.Connection:
    try:
        conn = await asyncpg.connect(
            url, statement_cache_size=statement_cache(statement_cache_size), **kwargs
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    await _init_connection(conn)
    return conn


async def create_pool(
    url: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    statement_cache_size: int | None = None,
) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            timeout=10,
            statement_cache_size=statement_cache(statement_cache_size),
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    assert pool is not None
    return pool


POOL_CLOSE_SECONDS = 3.0  # a closing pool's connections are terminated after this


async def close_pool(pool: asyncpg.Pool, *, grace: float = POOL_CLOSE_SECONDS) -> None:
    """Close `pool`, terminating its connections once `grace` seconds have passed.

    asyncpg's close waits for every connection to be released and for the
    server to see each one closed; against a database that has gone or stopped
    answering (a frozen host, a connection still held by a query that waits on
    it) that is forever, so the close is bounded and the sockets then dropped.
    """
    try:
        async with asyncio.timeout(grace):
            await pool.close()
    except DATABASE_FAILURES:  # TimeoutError among them
        pool.terminate()
