"""A primary and a streaming replica made with the embedded server's own binaries.

The primary is an `EmbeddedPostgres` of its own data directory (initdb's
defaults already allow replication connections from 127.0.0.1 and keep
`wal_level = replica`); the replica is `pg_basebackup -R` of it, started on a
free port of its own as a hot standby. As root, both run as the embedded
server's system user, as the server itself does.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from predhub.db.embedded import EmbeddedPostgres, _chown_tree


@dataclass(frozen=True)
class Pair:
    primary_url: str
    replica_url: str
    primary: EmbeddedPostgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def primary_and_replica(root: Path) -> Iterator[Pair]:
    """Start a primary, clone it into a streaming replica; stop both afterwards."""
    primary = EmbeddedPostgres(root / "primary")
    running = primary.ensure_running()
    replica_home = root / "replica"
    replica_dir = replica_home / "pgdata"
    replica_dir.mkdir(mode=0o700, parents=True)
    if primary._user:
        _chown_tree(replica_home, primary._user)
    port = _free_port()
    try:
        primary._pg(
            "pg_basebackup",
            "-h", "127.0.0.1", "-p", str(running.port), "-U", "postgres",
            "-D", str(replica_dir), "-R", "-X", "stream", "-c", "fast",
            timeout=120,
        )  # fmt: skip
        primary._pg(
            "pg_ctl", "-D", str(replica_dir), "-w", "-t", "60",
            "-l", str(replica_home / "server.log"),
            "-o", f"-p {port} -c unix_socket_directories={replica_dir}",
            "start",
            timeout=90,
        )  # fmt: skip
        try:
            yield Pair(running.url, f"postgresql://postgres@127.0.0.1:{port}/postgres", primary)
        finally:
            primary._pg("pg_ctl", "-D", str(replica_dir), "-w", "-m", "immediate", "stop")
    finally:
        primary.stop()
