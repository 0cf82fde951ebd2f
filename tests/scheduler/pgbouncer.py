"""A real PgBouncer in transaction mode in front of a test database.

Debian's `pgbouncer` package (1.18 on bookworm) is the one CI installs; before
1.21 it cannot carry protocol-level prepared statements, which is why predhub
runs behind it with DB_STATEMENT_CACHE_SIZE=0. PgBouncer refuses to run as
root, so as root it drops to the embedded server's system user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from predhub.db.embedded import SYSTEM_USER, ensure_system_user, find_system_tool


def pgbouncer_binary() -> str:
    """The pgbouncer executable, or a skip saying how to get it."""
    found = find_system_tool("pgbouncer")
    if found is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def pgbouncer(server_url: str, *, pool_size: int = 4) -> Iterator[str]:
    """PgBouncer (transaction mode, `pool_size` server connections per database) in
    front of `server_url`'s server; yields the URL of the same database through it."""
    binary = pgbouncer_binary()
    parts = urlsplit(server_url)
    port = _free_port()
    home = Path(tempfile.mkdtemp(prefix="predhub-pgbouncer-"))
    home.chmod(0o755)
    password = f" password={parts.password}" if parts.password else ""
    config = home / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={parts.hostname or '127.0.0.1'} port={parts.port or 5432}"
        f" user={parts.username or 'postgres'}{password}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = any\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 500\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    command = [binary, str(config)]
    if os.geteuid() == 0:
        ensure_system_user(SYSTEM_USER)
        command[1:1] = ["-u", SYSTEM_USER]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, f"pgbouncer exited: {proc.stdout and proc.stdout.read()}"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert time.monotonic() < deadline, "pgbouncer did not listen"
            time.sleep(0.05)
        netloc = f"{parts.username or 'postgres'}@127.0.0.1:{port}"
        yield urlunsplit(parts._replace(netloc=netloc))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(home, ignore_errors=True)
