"""The embedded PostgreSQL: start, attach from a second process, recover after SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from predhub.db.embedded import EmbeddedPostgres, read_running

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE_URL") is not None
    and os.environ.get("PREDHUB_SKIP_EMBEDDED") == "1",
    reason="embedded server tests disabled",
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "hub"
    running = read_running(tmp_path / "hub" / "pgdata")
    if running is not None:  # never leave a server behind, whatever the test did
        os.kill(running.pid, signal.SIGKILL)


def _wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


async def test_second_handle_attaches_instead_of_starting(data_dir: Path) -> None:
    owner = EmbeddedPostgres(data_dir)
    first = owner.ensure_running()
    visitor = EmbeddedPostgres(data_dir)
    second = visitor.ensure_running()
    assert (second.pid, second.port) == (first.pid, first.port)
    assert owner.started_here and not visitor.started_here

    visitor.stop()  # a visitor never stops a server it did not start
    conn = await asyncpg.connect(first.url)
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()

    owner.stop()
    assert _wait_gone(first.pid)
    assert read_running(data_dir / "pgdata") is None


async def test_restart_after_sigkill_recovers_data(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    running = server.ensure_running()
    conn = await asyncpg.connect(running.url)
    await conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
    await conn.close()

    os.kill(running.pid, signal.SIGKILL)
    assert _wait_gone(running.pid)

    again = EmbeddedPostgres(data_dir)
    restarted = again.ensure_running()
    assert restarted.pid != running.pid and again.started_here
    conn = await asyncpg.connect(restarted.url)
    assert await conn.fetchval("SELECT v FROM kept") == 42
    await conn.close()
    again.stop()
