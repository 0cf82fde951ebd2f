"""A throw-away migrated database for the benchmarks that write straight into PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import asyncpg

from predhub.db import migrate
from predhub.db.connect import connect
from predhub.db.embedded import EmbeddedPostgres

T = TypeVar("T")


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A fresh migrated database on DATABASE_URL's server or on an embedded one."""
    explicit = os.environ.get("DATABASE_URL")
    root: Path | None = None
    server: EmbeddedPostgres | None = None
    if explicit:
        base = explicit
    else:
        root = Path(tempfile.mkdtemp(prefix="predhub-bench-"))
        server = EmbeddedPostgres(root)
        base = server.ensure_running().url
    name = f"predhub_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        conn = await connect(url)
        await migrate.upgrade(conn)
        await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        if server is not None:
            server.stop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def run_on_server(bench: Callable[[T, str], Awaitable[None]], args: T, url: str | None) -> None:
    """Run `bench(args, url)` against the server at `url`, or against a temporary embedded
    server made for the run and removed after it."""
    if url:
        asyncio.run(bench(args, url))
        return
    root = Path(tempfile.mkdtemp(prefix="predhub-bench-"))
    server = EmbeddedPostgres(root)
    try:
        asyncio.run(bench(args, server.ensure_running().url))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
