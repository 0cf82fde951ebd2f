"""Test harness: one PostgreSQL server per session, a fresh database per test.

The server is the embedded PostgreSQL (in a temporary data directory) unless
TEST_DATABASE_URL names another. Each test gets its own database cloned from a
migrated template (`CREATE DATABASE ... TEMPLATE ...`), so tests are isolated
and a clone costs milliseconds rather than a migration.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from predhub.db import migrate
from predhub.db.connect import connect, create_pool
from predhub.db.embedded import EmbeddedPostgres

FIXTURES = Path(__file__).parent / "fixtures"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of the session's server (maintenance database)."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    root = Path(tempfile.mkdtemp(prefix="predhub-test-pg-"))
    server = EmbeddedPostgres(root)
    running = server.ensure_running()
    try:
        yield running.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_db(pg_server_url: str) -> AsyncIterator[str]:
    """A migrated database that every test database is cloned from."""
    name = f"predhub_tmpl_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await connect(with_database(pg_server_url, name))
        try:
            await migrate.upgrade(conn)
        finally:
            await conn.close()
        yield name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def empty_db_url(pg_server_url: str) -> AsyncIterator[str]:
    """A brand-new empty database (for migration tests)."""
    name = f"predhub_empty_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(pg_server_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db_url(pg_server_url: str, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone."""
    name = f"predhub_t_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        yield with_database(pg_server_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect(db_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url, min_size=1, max_size=8)
    try:
        yield p
    finally:
        await p.close()


# --- venue simulator fixtures (owned by the simulator) -------------------------------
from predhub.sim.config import SimConfig  # noqa: E402
from predhub.sim.testing import SimHandle, running_simulator  # noqa: E402


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    """A small, zero-latency world on a free port; simulated time moves only by `advance`."""
    with running_simulator(SimConfig.small()) as handle:
        yield handle


@pytest.fixture(scope="session")
def sim_session() -> Iterator[SimHandle]:
    """One shared small world for read-only tests (do not advance or inject faults)."""
    with running_simulator(SimConfig.small(seed=11)) as handle:
        yield handle
