"""A throw-away migrated database for the benchmarks that write straight into PostgreSQL."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from predhub.db import migrate
from predhub.db.connect import connect
from predhub.db.embedded import EmbeddedPostgres


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
