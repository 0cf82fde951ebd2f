"""Point-in-time recovery of the embedded server: base backups, the WAL archive, restores.

With PREDHUB_WAL_ARCHIVE_DIR set, the embedded server copies every finished WAL
segment into `<dir>/wal` (`embedded.archive_command`), and `base_backup` writes a
physical copy of the data directory (`pg_basebackup` of the server's own version:
tar, gzip, with the WAL it needs to be consistent) into `<dir>/base/<stamp>/`. A
pg_dump cannot be replayed forward; a physical copy plus the WAL written since can,
so together they bring the database back to any moment after the first base backup
finished.

`restore_to(time)` takes the newest base backup that finished at or before the time,
unpacks it into a new data directory and starts a server there that replays the
archived WAL up to the time (`recovery_target_time`, `recovery.signal`,
`restore_command`), then promotes it and stops it: the new directory holds exactly
what was committed up to that time, ready for `PREDHUB_DATA_DIR`. The original data
directory and the archive are only read.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import structlog

from predhub.db import migrate
from predhub.db.backup import find_tool, record_backup, server_major
from predhub.db.connect import connect
from predhub.db.embedded import (
    WAL_SUFFIX,
    EmbeddedPostgres,
    EmbeddedPostgresError,
    conf_string,
    read_running,
    restore_command,
    wal_dir,
)
from predhub.db.errors import BackupFailed, BackupRefused, DatabaseUnavailable
from predhub.db.queries import load

log = structlog.get_logger(__name__)

_Q = load("pitr")
MANIFEST = "predhub-base.json"
PARTIAL = ".partial"
_PERCENT = re.compile(r"\((\d+)%\)")
ARCHIVE_WAIT_SECONDS = 60.0
POLL_SECONDS = 0.5

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class BaseBackup:
    """One base backup in the archive; consistent from `finished_at` on."""

    path: Path
    started_at: datetime
    finished_at: datetime
    start_wal: str
    bytes: int


@dataclass(frozen=True, slots=True)
class RestoreToResult:
    target: Path
    base: BaseBackup
    to: datetime
    replayed_to: datetime | None
    segments: int
    seconds: float
    schema_version: int | None
    schema_current: bool


def base_dir(archive: Path) -> Path:
    return archive / "base"


def list_base_backups(archive: Path) -> list[BaseBackup]:
    """The archive's whole base backups, oldest first (a half-written one has no manifest)."""
    found: list[BaseBackup] = []
    for manifest in base_dir(archive).glob(f"*/{MANIFEST}"):
        try:
            doc = json.loads(manifest.read_text())
            found.append(
                BaseBackup(
                    path=manifest.parent,
                    started_at=datetime.fromisoformat(doc["started_at"]),
                    finished_at=datetime.fromisoformat(doc["finished_at"]),
                    start_wal=str(doc["start_wal"]),
                    bytes=int(doc["bytes"]),
                )
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("pitr.bad_manifest", path=str(manifest), error=str(exc))
    return sorted(found, key=lambda b: b.finished_at)


async def _check_archiving(conn: asyncpg.Connection, archive: Path) -> None:
    row = await conn.fetchrow(_Q.archive_settings)
    assert row is not None
    if row["mode"] not in ("on", "always") or str(wal_dir(archive)) not in row["command"]:
        raise BackupRefused(
            f"the running server does not archive its WAL into {wal_dir(archive)}: stop every"
            " predhub process using it and start again with PREDHUB_WAL_ARCHIVE_DIR set"
            " (archive_mode changes only at a server start)"
        )


async def _stream(cmd: list[str], on_line: Progress) -> None:
    """Run a tool, passing each line (pg_basebackup ends progress lines with CR) on."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    tail: list[str] = []
    buffer = b""
    while chunk := await proc.stderr.read(4096):
        buffer += chunk
        *lines, buffer = re.split(rb"[\r\n]", buffer)
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                tail = [*tail[-20:], line]
                on_line(line)
    code = await proc.wait()
    if code != 0:
        errors = [t for t in tail if "error" in t.lower()] or tail
        raise BackupFailed(f"{Path(cmd[0]).name} failed ({code}): {' | '.join(errors[-3:])}")


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


async def base_backup(url: str, archive: Path, *, progress: Progress | None = None) -> BaseBackup:
    """A physical copy of the running server into the archive, for replaying WAL onto."""
    say = progress or _quiet
    conn = await connect(url)
    try:
        await _check_archiving(conn, archive)
        tool = find_tool("pg_basebackup", await server_major(conn))
        start_wal = str(await conn.fetchval(_Q.current_wal_file))
        started: datetime = await conn.fetchval(_Q.server_clock)
        stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        folder = base_dir(archive) / stamp
        partial = folder.with_name(stamp + PARTIAL)
        partial.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(tool),
            f"--dbname={url}",
            f"--pgdata={partial}",
            "--format=tar",
            "--gzip",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--progress",
            "--verbose",
            f"--label=predhub {stamp}",
        ]
        shown = -1

        def on_line(line: str) -> None:
            nonlocal shown
            match = _PERCENT.search(line)
            if match is None:
                say(line)
            elif int(match.group(1)) // 10 != shown:  # a line per tenth, not per block
                shown = int(match.group(1)) // 10
                say(line)

        try:
            await _stream(cmd, on_line)
            finished: datetime = await conn.fetchval(_Q.server_clock)
            size = _tree_bytes(partial)
            manifest = {
                "started_at": started.isoformat(),
                "finished_at": finished.isoformat(),
                "start_wal": start_wal,
                "bytes": size,
            }
            (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            partial.replace(folder)
        except BaseException as exc:
            shutil.rmtree(partial, ignore_errors=True)
            await record_backup(conn, folder, started, None, str(exc))
            raise
        await record_backup(conn, folder, started, size, None)
    finally:
        await conn.close()
    log.info("db.base_backup", path=str(folder), bytes=size)
    return BaseBackup(folder, started, finished, start_wal, size)


def prune_base_backups(archive: Path, keep: int, tools: Path) -> list[Path]:
    """Keep the newest `keep` base backups, and the WAL from the oldest kept one on."""
    bases = list_base_backups(archive)
    doomed = bases[:-keep] if keep > 0 else []
    for old in doomed:
        shutil.rmtree(old.path, ignore_errors=True)
    kept = bases[len(doomed) :]
    if doomed and kept:
        # pg_archivecleanup removes every segment (and, with -b, backup history file)
        # older than the one named; `-x .gz` has it read `X.gz` as `X` (plain
        # segments, archived before compression, are matched too)
        cleanup = [str(tools / "pg_archivecleanup"), "-b", "-x", WAL_SUFFIX]
        subprocess.run(
            [*cleanup, str(wal_dir(archive)), kept[0].start_wal],
            capture_output=True,
            timeout=300,
            check=False,
        )
    return [b.path for b in doomed]


async def archive_now(url: str, *, wait_seconds: float = ARCHIVE_WAIT_SECONDS) -> str | None:
    """Close the server's current WAL segment and wait until it is archived.

    A restore can replay only what reached the archive; a recent target time lies
    in the segment being written, which is archived when full or after
    WAL_ARCHIVE_TIMEOUT_SECONDS. Recovery also needs a commit after the target to
    know it got there, so one is written first. Returns a note when the archive did
    not catch up.
    """
    conn = await connect(url)
    try:
        await conn.fetchval(_Q.mark_commit)
        segment = str(await conn.fetchval(_Q.switch_wal))
        deadline = time.monotonic() + wait_seconds
        while True:
            row = await conn.fetchrow(_Q.archiver_state)
            assert row is not None
            done = row["last_archived_wal"]
            if done is not None and str(done)[8:] >= segment[8:]:
                return None
            if time.monotonic() > deadline:
                failed = row["last_failed_wal"]
                return f"WAL segment {segment} was not archived within {wait_seconds:.0f} s" + (
                    f" (the last failure: {failed})" if failed else ""
                )
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


def choose_base(bases: list[BaseBackup], to: datetime, now: datetime) -> BaseBackup:
    """The newest base backup a restore to `to` can start from; refusals name the bounds."""
    if not bases:
        raise BackupRefused(
            "the WAL archive holds no base backup yet: take one with `predhub db basebackup`"
        )
    if to > now:
        raise BackupRefused(
            f"{to.isoformat()} is in the future (now {now.isoformat(timespec='seconds')})"
        )
    usable = [b for b in bases if b.finished_at <= to]
    if not usable:
        first = bases[0].finished_at.isoformat(timespec="seconds")
        raise BackupRefused(
            f"{to.isoformat()} is before the first base backup was complete ({first});"
            " the earliest time to restore to is then"
        )
    return usable[-1]


def _check_target(target: Path, force: bool) -> Path:
    target = target.expanduser().absolute()
    pgdata = target / "pgdata"
    if target.exists() and not target.is_dir():
        raise BackupRefused(f"{target} is not a directory")
    if target.exists() and any(target.iterdir()):
        if not force:
            raise BackupRefused(
                f"{target} is not empty; restore into a new directory or pass --force to"
                " replace its data directory"
            )
        if read_running(pgdata) is not None:
            raise BackupRefused(f"a server is running in {pgdata}: stop it first")
        shutil.rmtree(pgdata, ignore_errors=True)
    return target


def _unpack(base: BaseBackup, pgdata: Path, say: Progress) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    for name, into in (("base.tar.gz", pgdata), ("pg_wal.tar.gz", pgdata / "pg_wal")):
        source = base.path / name
        if not source.exists():
            raise BackupFailed(f"the base backup {base.path} lacks {name}")
        into.mkdir(parents=True, exist_ok=True)
        say(f"unpacking {source} ({source.stat().st_size / 1e6:.1f} MB)")
        with tarfile.open(source, "r:gz") as tar:
            _extract(tar, into)
    pgdata.chmod(0o700)
    # the copy's log is the original's; this server's starts empty
    (pgdata / "server.log").unlink(missing_ok=True)


def _extract(tar: tarfile.TarFile, into: Path) -> None:
    """Unpack a base backup's archive: with tarfile's "data" filter where this Python has
    it (3.11.4 and later), else with the same refusals made here (no absolute or escaping
    names, no links out of `into`, no device files), so a tampered archive writes nothing
    outside the new data directory on any supported Python."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(into, filter="data")
        return
    root = into.resolve()
    for member in tar.getmembers():
        inside = (root / member.name).resolve().is_relative_to(root)
        if member.issym() or member.islnk():
            base = root if member.islnk() else (root / member.name).parent
            inside = inside and (base / member.linkname).resolve().is_relative_to(root)
        if not inside or member.isdev():
            raise BackupFailed(f"the base backup holds an unsafe entry: {member.name}")
    tar.extractall(into)  # every member checked above


def _ask_for_recovery(pgdata: Path, archive: Path, to: datetime) -> None:
    settings = {
        "restore_command": restore_command(wal_dir(archive)),
        "recovery_target_time": to.isoformat(),
        "recovery_target_action": "promote",
    }
    with open(pgdata / "postgresql.auto.conf", "a") as handle:
        handle.write("# point-in-time recovery by predhub, removed after promotion\n")
        for name, value in settings.items():
            handle.write(f"{name} = {conf_string(value)}\n")
    (pgdata / "recovery.signal").touch()


SHORT_OF_TARGET = "recovery ended before configured recovery target was reached"


def _log_failure(pgdata: Path) -> str:
    try:
        lines = (pgdata / "server.log").read_text(errors="replace").splitlines()
    except OSError:
        return "see the server log"
    fatal = [line for line in lines if "FATAL" in line or "PANIC" in line]
    last = (fatal or lines or ["see the server log"])[-1].strip()
    if SHORT_OF_TARGET in last:
        return (
            "the archived WAL ends before the time asked for (recovery stops at the first"
            " commit after it, and none was archived); restore to an earlier time, or"
            " start the original server so `predhub db restore` can archive its latest WAL"
        )
    return last


def _segments_restored(pgdata: Path) -> int:
    try:
        text = (pgdata / "server.log").read_text(errors="replace")
    except OSError:
        return 0
    return text.count("restored log file")


async def _replay(server: EmbeddedPostgres, say: Progress) -> datetime | None:
    """Wait for the server to replay up to its target and promote; the last replayed commit."""
    assert server.server is not None
    replayed: datetime | None = None
    shown: datetime | None = None
    while True:
        try:
            conn = await connect(server.server.url)
        except DatabaseUnavailable:
            if read_running(server.pgdata) is None:
                raise BackupFailed(f"the recovery stopped: {_log_failure(server.pgdata)}") from None
            await asyncio.sleep(POLL_SECONDS)
            continue
        try:
            while True:
                row = await conn.fetchrow(_Q.recovery_state)
                assert row is not None
                if row["replayed_to"] is not None:
                    replayed = row["replayed_to"]
                if replayed is not None and replayed != shown:
                    shown = replayed
                    say(f"replayed to {replayed.isoformat()}")
                if not row["in_recovery"]:
                    for reset in (
                        _Q.reset_restore_command,
                        _Q.reset_recovery_target_time,
                        _Q.reset_recovery_target_action,
                    ):
                        await conn.execute(reset)
                    return replayed
                await asyncio.sleep(POLL_SECONDS)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            if read_running(server.pgdata) is None:
                raise BackupFailed(f"the recovery stopped: {_log_failure(server.pgdata)}") from None
        finally:
            await conn.close()


async def restore_to(
    archive: Path,
    target: Path,
    to: datetime,
    *,
    force: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> RestoreToResult:
    """Bring the database back as it was at `to`, into the new data directory `target`."""
    say = progress or _quiet
    clock = time.perf_counter()
    base = choose_base(list_base_backups(archive), to, now or datetime.now(UTC))
    target = _check_target(target, force)
    pgdata = target / "pgdata"
    say(f"base backup {base.path.name} (complete at {base.finished_at.isoformat()})")
    await asyncio.to_thread(_unpack, base, pgdata, say)
    _ask_for_recovery(pgdata, archive, to)
    say(f"replaying WAL from {wal_dir(archive)} up to {to.isoformat()}")
    server = EmbeddedPostgres(target)
    try:
        try:
            await asyncio.to_thread(server.ensure_running)
        except EmbeddedPostgresError as exc:
            raise BackupFailed(f"the recovery stopped: {_log_failure(pgdata)}") from exc
        replayed = await _replay(server, say)
        assert server.server is not None
        conn = await connect(server.server.url)
        try:
            status = await migrate.status(conn)
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(server.stop)
    seconds = time.perf_counter() - clock
    segments = _segments_restored(pgdata)
    log.info("db.restore_to", target=str(target), to=to.isoformat(), segments=segments)
    return RestoreToResult(
        target=target,
        base=base,
        to=to,
        replayed_to=replayed,
        segments=segments,
        seconds=seconds,
        schema_version=status.current,
        schema_current=not status.pending,
    )
