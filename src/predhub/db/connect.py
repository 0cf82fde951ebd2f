"""Where the database is, and connection pools to it.

`database()` is the one place that decides between the configured server and
the embedded one; every command goes through it.
"""

from __future__ import annotations

import atexit
import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from predhub.db.embedded import EmbeddedPostgres
from predhub.db.errors import DatabaseUnavailable as DatabaseUnavailable
from predhub.settings import Settings


@dataclass
class Database:
    """A resolved database: its URL and, when embedded, the server handle."""

    url: str
    embedded: EmbeddedPostgres | None = None

    @property
    def is_embedded(self) -> bool:
        return self.embedded is not None

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def resolve_database(settings: Settings, *, stop_at_exit: bool = True) -> Database:
    """Use DATABASE_URL (or POSTGRES_*) when set; otherwise start or attach the embedded server."""
    explicit = settings.explicit_database_url()
    if explicit:
        return Database(url=explicit)
    embedded = EmbeddedPostgres(settings.data_dir, port=settings.embedded_pg_port)
    server = embedded.ensure_running()
    if stop_at_exit:
        atexit.register(embedded.stop)
    return Database(url=server.url, embedded=embedded)


class JsonText(str):
    """JSON that is already serialised: sent to a json or jsonb column as it is.

    Large payloads (bronze pages) are serialised once, canonically, for their
    content hash; encoding them again per column would double that cost.
    """

    __slots__ = ()


def _encode_json(value: Any) -> bytes:
    return (value if isinstance(value, JsonText) else json.dumps(value)).encode()


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


async def connect(url: str, **kwargs: Any) -> asyncpg.Connection:
    try:
        conn = await asyncpg.connect(url, **kwargs)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    await _init_connection(conn)
    return conn


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, init=_init_connection, timeout=10
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    assert pool is not None
    return pool
