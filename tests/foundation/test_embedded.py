"""The embedded PostgreSQL: start, attach from a second process, recover after SIGKILL."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from predhub.db import embedded
from predhub.db.embedded import EmbeddedPostgres, EmbeddedPostgresError, read_running

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE_URL") is not None
    and os.environ.get("PREDHUB_SKIP_EMBEDDED") == "1",
    reason="embedded server tests disabled",
)


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A data dir the system user root runs the server as can reach.

    pytest makes its temporary root private again whenever a run starts, which
    can lock that user out in the middle of a test.
    """
    path = Path(tempfile.mkdtemp(prefix="predhub-embedded-"))
    yield path
    running = read_running(path / "hub" / "pgdata")
    if running is not None:  # never leave a server behind, whatever the test did
        os.kill(running.pid, signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def data_dir(reachable_dir: Path) -> Path:
    return reachable_dir / "hub"


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


@pytest.fixture
def fresh_system_user(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A system user name no one has created yet, removed again afterwards."""
    if os.geteuid() != 0:
        pytest.skip("only root runs the embedded server as a system user")
    name = f"predhub_t{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(embedded, "SYSTEM_USER", name)
    yield name
    userdel = embedded.find_system_tool("userdel")
    if userdel is not None:
        subprocess.run([userdel, name], capture_output=True, check=False)


def test_root_starts_the_server_when_path_lacks_the_sbin_dirs(
    fresh_system_user: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # root's PATH under cron or `env -i`
    server = EmbeddedPostgres(data_dir)
    running = server.ensure_running()
    assert pwd.getpwnam(fresh_system_user)
    assert psutil.Process(running.pid).username() == fresh_system_user
    server.stop()
    assert _wait_gone(running.pid)


def test_a_missing_useradd_is_named(
    fresh_system_user: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = data_dir / "empty"
    empty.mkdir(parents=True)
    monkeypatch.setattr(embedded, "SYSTEM_TOOL_DIRS", (str(empty),))
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(EmbeddedPostgresError, match="useradd is not in"):
        EmbeddedPostgres(data_dir).ensure_running()
    assert read_running(data_dir / "pgdata") is None


@pytest.fixture
def squatter() -> Iterator[int]:
    """The pid of a program that is not PostgreSQL."""
    process = subprocess.Popen(["sleep", "300"])
    yield process.pid
    process.kill()
    process.wait()


async def test_restart_when_the_dead_servers_pid_names_another_program(
    data_dir: Path, squatter: int
) -> None:
    server = EmbeddedPostgres(data_dir)
    running = server.ensure_running()
    backends = psutil.Process(running.pid).children()
    os.kill(running.pid, signal.SIGKILL)
    assert _wait_gone(running.pid)
    assert all(_wait_gone(b.pid) for b in backends)  # they leave once the postmaster is gone
    pidfile = data_dir / "pgdata" / "postmaster.pid"
    lines = pidfile.read_text().splitlines()
    # the old pid, reused by some other program since
    pidfile.write_text("\n".join([str(squatter), *lines[1:]]) + "\n")
    again = EmbeddedPostgres(data_dir)
    restarted = again.ensure_running()
    assert restarted.pid != squatter and again.started_here
    conn = await asyncpg.connect(restarted.url)
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()
    again.stop()


def test_a_port_left_in_time_wait_by_a_stopped_server_counts_as_free() -> None:
    """A restarted server's old connections linger in TIME_WAIT; PostgreSQL binds past them."""
    import socket

    from predhub.db.embedded import _ensure_port_free

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server side closes first: its end of the connection is in TIME_WAIT
    listener.close()
    client.close()
    _ensure_port_free(port)  # raises EmbeddedPostgresError when TIME_WAIT counts as taken
