"""Point-in-time recovery on the embedded server's own binaries: WAL archived, a base backup,
a restore to a time between two loads that holds exactly the first.

These run their own embedded server with archiving on (whatever TEST_DATABASE_URL
says): archiving is a server setting, and the tools must be the server's version.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from predhub.db import migrate, pitr
from predhub.db.connect import connect, create_pool
from predhub.db.embedded import EmbeddedPostgres, archive_command, restore_command, wal_dir
from predhub.db.errors import BackupFailed, BackupRefused
from predhub.service.testing import SeedMarket, seed_market

INSERT_TRADE = """
INSERT INTO silver.trades (venue, market_id, trade_key, price, size, executed_at)
SELECT venue, id, $2, 0.5, 1, now() FROM silver.markets WHERE id = $1 RETURNING id
"""
TRADE_KEYS = "SELECT trade_key FROM silver.trades ORDER BY trade_key"
NOW = "SELECT clock_timestamp()"
WAL_SEGMENT_BYTES = 16 * 1024 * 1024  # initdb's default, which the embedded server keeps
MINIMAL_PATH = {"PATH": "/usr/bin:/bin"}


@dataclass
class Archived:
    root: Path
    archive: Path
    server: EmbeddedPostgres
    url: str


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A folder the server's own user can reach: not under pytest's tmp_path, whose root
    any pytest run on the machine makes private again (the server runs as its own user
    when the tests run as root)."""
    root = Path(tempfile.mkdtemp(prefix="predhub-test-pitr-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def archived(server_dir: Path) -> AsyncIterator[Archived]:
    """An embedded server archiving its WAL into server_dir/archive, migrated."""
    tmp_path = server_dir
    archive = tmp_path / "archive"
    server = EmbeddedPostgres(tmp_path / "data", wal_archive=archive, archive_timeout=0)
    running = await asyncio.to_thread(server.ensure_running)
    try:
        conn = await connect(running.url)
        try:
            await migrate.upgrade(conn)
        finally:
            await conn.close()
        yield Archived(tmp_path, archive, server, running.url)
    finally:
        await asyncio.to_thread(server.stop)


async def _keys(url: str) -> list[str]:
    conn = await connect(url)
    try:
        return [r["trade_key"] for r in await conn.fetch(TRADE_KEYS)]
    finally:
        await conn.close()


async def test_a_restore_to_a_time_between_two_loads_holds_exactly_the_first(
    archived: Archived,
) -> None:
    conn = await connect(archived.url)
    try:
        market = await seed_market(conn, SeedMarket(native_id="pitr"))
        await conn.fetchval(INSERT_TRADE, market, "a0")  # in the base backup itself
        lines: list[str] = []
        base = await pitr.base_backup(archived.url, archived.archive, progress=lines.append)
        assert (base.path / "base.tar.gz").is_file() and (base.path / "pg_wal.tar.gz").is_file()
        assert any("%" in line for line in lines)  # pg_basebackup's progress came through
        for n in range(1, 51):  # load A: replayed from the archived WAL
            await conn.fetchval(INSERT_TRADE, market, f"a{n}")
        at: datetime = await conn.fetchval(NOW)
        await asyncio.sleep(0.05)
        for n in range(50):  # load B, committed after `at`
            await conn.fetchval(INSERT_TRADE, market, f"b{n}")
        after_b: datetime = await conn.fetchval(NOW)
        recorded = await conn.fetchval(
            "SELECT count(*) FROM ops.backups WHERE path = $1 AND status = 'done'", str(base.path)
        )
        assert recorded == 1
    finally:
        await conn.close()
    assert await pitr.archive_now(archived.url) is None
    assert any(wal_dir(archived.archive).iterdir())

    steps: list[str] = []
    target = archived.root / "restored"
    result = await pitr.restore_to(archived.archive, target, at, progress=steps.append)
    assert result.base.path == base.path
    assert result.segments >= 1 and result.schema_current
    assert result.replayed_to is not None and result.replayed_to <= at
    assert any(step.startswith("replaying WAL") for step in steps)

    restored = EmbeddedPostgres(target)
    running = await asyncio.to_thread(restored.ensure_running)
    try:
        keys = await _keys(running.url)
    finally:
        await asyncio.to_thread(restored.stop)
    assert sorted(keys) == sorted(["a0", *(f"a{n}" for n in range(1, 51))])
    assert sorted(await _keys(archived.url))[-1] == "b9"  # the original is untouched

    # a second restore into the same directory is refused without --force ...
    with pytest.raises(BackupRefused, match="not empty"):
        await pitr.restore_to(archived.archive, target, at)
    # ... and with it replaces the directory's data, here with the state after load B
    later = await pitr.restore_to(archived.archive, target, after_b, force=True)
    assert later.replayed_to is not None and at < later.replayed_to <= after_b
    running = await asyncio.to_thread(restored.ensure_running)
    try:
        assert len(await _keys(running.url)) == 101
    finally:
        await asyncio.to_thread(restored.stop)


def test_the_target_time_must_lie_between_the_first_base_backup_and_now() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    first = pitr.BaseBackup(Path("b1"), now - timedelta(days=2), now - timedelta(days=2), "x", 1)
    second = pitr.BaseBackup(Path("b2"), now - timedelta(days=1), now - timedelta(days=1), "y", 1)
    bases = [first, second]
    assert pitr.choose_base(bases, now - timedelta(hours=30), now) is first
    assert pitr.choose_base(bases, now - timedelta(hours=1), now) is second
    with pytest.raises(BackupRefused, match="before the first base backup"):
        pitr.choose_base(bases, now - timedelta(days=3), now)
    with pytest.raises(BackupRefused, match="in the future"):
        pitr.choose_base(bases, now + timedelta(minutes=1), now)
    with pytest.raises(BackupRefused, match="no base backup"):
        pitr.choose_base([], now, now)


async def test_a_base_backup_needs_archiving_on(server_dir: Path) -> None:
    tmp_path = server_dir
    server = EmbeddedPostgres(tmp_path / "data")
    running = await asyncio.to_thread(server.ensure_running)
    try:
        with pytest.raises(BackupRefused, match="does not archive"):
            await pitr.base_backup(running.url, tmp_path / "archive")
    finally:
        await asyncio.to_thread(server.stop)


async def test_a_restore_past_the_archived_wal_fails_in_one_line(archived: Archived) -> None:
    await pitr.base_backup(archived.url, archived.archive)
    # the archiver compresses in the background: let it finish before emptying the archive
    assert await pitr.archive_now(archived.url) is None
    for segment in wal_dir(archived.archive).iterdir():
        segment.unlink(missing_ok=True)  # nothing to replay: the target cannot be reached
    with pytest.raises(BackupFailed, match="archived WAL ends before the time"):
        await pitr.restore_to(archived.archive, archived.root / "r", datetime.now(UTC))


def _cli(archived: Archived, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "LOG_JSON": "false",
        "PREDHUB_DATA_DIR": str(archived.server.root),
        "PREDHUB_WAL_ARCHIVE_DIR": str(archived.archive),
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    return subprocess.run(
        [sys.executable, "-m", "predhub", "db", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str], needle: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], done.stderr


async def test_the_command_takes_base_backups_and_refuses_bad_times(archived: Archived) -> None:
    none_yet = await asyncio.to_thread(_cli, archived, "restore", "--to", "2026-01-01")
    _one_line(none_yet, "no base backup")
    made = await asyncio.to_thread(_cli, archived, "basebackup")
    assert made.returncode == 0, made.stderr
    assert "base backup" in made.stdout and "consistent from" in made.stdout
    for when, needle in (
        ("yesterday-ish", "is not a time"),
        ("2020-01-01T00:00", "before the first base backup"),
        ("2999-01-01", "in the future"),
    ):
        _one_line(await asyncio.to_thread(_cli, archived, "restore", "--to", when), needle)
    busy = archived.root / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    stamp = datetime.now(UTC).isoformat()
    refused = await asyncio.to_thread(
        _cli, archived, "restore", "--to", stamp, "--target", str(busy)
    )
    _one_line(refused, "--force")
    both = await asyncio.to_thread(_cli, archived, "restore", "x.dump", "--to", stamp)
    _one_line(both, "not both")


def _segment_names(folder: Path) -> list[str]:
    """The archive's WAL segment files (24 hex digits, with any suffix), sorted."""
    return sorted(p.name for p in folder.iterdir() if len(p.name.split(".")[0]) == 24)


async def _restored_keys(archive: Path, target: Path, to: datetime, *, force: bool) -> list[str]:
    await pitr.restore_to(archive, target, to, force=force)
    restored = EmbeddedPostgres(target)
    running = await asyncio.to_thread(restored.ensure_running)
    try:
        return sorted(await _keys(running.url))
    finally:
        await asyncio.to_thread(restored.stop)


async def test_the_archive_holds_gzipped_segments_and_restores_exactly(
    archived: Archived,
) -> None:
    conn = await connect(archived.url)
    try:
        market = await seed_market(conn, SeedMarket(native_id="gz"))
        await pitr.base_backup(archived.url, archived.archive)
        for n in range(40):
            await conn.fetchval(INSERT_TRADE, market, f"a{n:02}")
        at: datetime = await conn.fetchval(NOW)
        await asyncio.sleep(0.05)
        for n in range(40):
            await conn.fetchval(INSERT_TRADE, market, f"b{n:02}")
    finally:
        await conn.close()
    assert await pitr.archive_now(archived.url) is None
    wal = wal_dir(archived.archive)
    names = _segment_names(wal)
    segments = [wal / name for name in names if "." not in name.removesuffix(".gz")]
    assert segments and all(name.endswith(".gz") for name in names), names
    for segment in segments:
        whole = gzip.decompress(segment.read_bytes())
        assert len(whole) == WAL_SEGMENT_BYTES  # a whole segment, not a truncated one
        assert segment.stat().st_size < len(whole)
    # segments switched early (archive_now) are mostly zeros: the archive is a fraction
    assert sum(s.stat().st_size for s in segments) < len(segments) * WAL_SEGMENT_BYTES // 2
    first = [f"a{n:02}" for n in range(40)]
    assert await _restored_keys(archived.archive, archived.root / "r", at, force=False) == first

    # an archive written before segments were compressed (plain files) restores the same
    for packed in wal.glob("*.gz"):
        packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
        packed.unlink()
    assert not list(wal.glob("*.gz"))
    assert await _restored_keys(archived.archive, archived.root / "r", at, force=True) == first


def _run(command: str, cwd: Path, path: str, name: str) -> int:
    """Run an archive or restore command as PostgreSQL would (`%p`, `%f`, `%%` expanded),
    with the minimal PATH a service manager gives the server."""
    expanded = command.replace("%p", path).replace("%f", name).replace("%%", "%")
    done = subprocess.run(
        ["/bin/sh", "-c", expanded], cwd=cwd, env=MINIMAL_PATH, capture_output=True, check=False
    )
    return done.returncode


def test_the_archive_and_restore_commands_compress_and_never_overwrite(tmp_path: Path) -> None:
    data = tmp_path / "pg data %x"  # a space and a % in the path survive the quoting
    (data / "pg_wal").mkdir(parents=True)
    wal = tmp_path / "archive %d" / "wal"
    wal.mkdir(parents=True)
    name = "000000010000000000000003"
    segment = data / "pg_wal" / name
    content = os.urandom(4096) + bytes(WAL_SEGMENT_BYTES - 4096)
    segment.write_bytes(content)
    push, fetch = archive_command(wal), restore_command(wal)

    assert _run(push, data, f"pg_wal/{name}", name) == 0
    assert [p.name for p in wal.iterdir()] == [f"{name}.gz"]  # no temporary file left
    packed = (wal / f"{name}.gz").read_bytes()
    assert gzip.decompress(packed) == content and len(packed) < WAL_SEGMENT_BYTES // 100
    assert _run(push, data, f"pg_wal/{name}", name) == 0  # asked again: the same, accepted
    segment.write_bytes(os.urandom(64) + content[64:])
    assert _run(push, data, f"pg_wal/{name}", name) != 0  # a different one: refused ...
    assert (wal / f"{name}.gz").read_bytes() == packed  # ... and the archived one kept

    assert _run(fetch, data, "pg_wal/RECOVERYXLOG", name) == 0
    assert (data / "pg_wal" / "RECOVERYXLOG").read_bytes() == content
    plain = "000000010000000000000002"  # archived plain, before compression
    (wal / plain).write_bytes(content)
    assert _run(fetch, data, "pg_wal/RECOVERYXLOG", plain) == 0
    assert (data / "pg_wal" / "RECOVERYXLOG").read_bytes() == content
    assert _run(fetch, data, "pg_wal/RECOVERYXLOG", "000000010000000000000009") != 0


async def test_a_week_of_daily_backups_keeps_the_newest_and_the_wal_they_need(
    archived: Archived,
) -> None:
    from predhub.scheduler.backups import run_due
    from predhub.settings import Settings

    dumps = archived.root / "dumps"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=None,
        postgres_host=None,
        data_dir=archived.server.root,
        backup_daily=True,
        backup_dir=dumps,
        backup_keep=3,
        wal_archive_dir=archived.archive,
    )
    wal = wal_dir(archived.archive)
    pool = await create_pool(archived.url, min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            market = await seed_market(conn, SeedMarket(native_id="week"))
        first_day = datetime(2026, 3, 1, 4, tzinfo=UTC)
        written: list[Path] = []
        early: list[str] = []
        at: datetime | None = None
        for day in range(7):
            await pool.fetchval(INSERT_TRADE, market, f"d{day}")
            now = first_day + timedelta(days=day)
            made = await run_due(pool, settings, now=now)
            assert made is not None
            assert await run_due(pool, settings, now=now + timedelta(hours=1)) is None
            written.append(made)
            if day == 0:
                early = _segment_names(wal)
            if day == 4:  # the oldest base backup that will be kept
                at = await pool.fetchval(NOW)
        bases = pitr.list_base_backups(archived.archive)
        deleted = await pool.fetchval("SELECT count(*) FROM ops.backups WHERE status = 'deleted'")
    finally:
        await pool.close()
    assert sorted(p.name for p in dumps.iterdir()) == [p.name for p in written[-3:]]
    assert len(bases) == 3 and len(list(pitr.base_dir(archived.archive).iterdir())) == 3
    assert deleted == 4  # the four older dumps are marked deleted
    left = _segment_names(wal)
    oldest = bases[0].start_wal
    assert early and not set(early) & set(left)  # the first day's WAL is gone ...
    assert all(name[:24] >= oldest for name in left), (oldest, left)  # history files too
    # ... and what is kept replays from the oldest kept base backup
    assert await pitr.archive_now(archived.url) is None
    assert at is not None
    keys = await _restored_keys(archived.archive, archived.root / "r", at, force=False)
    assert keys == [f"d{day}" for day in range(5)]
