"""Backups and restores against a real server: consistent under writes, all-or-nothing restores."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from predhub.db import backup, migrate
from predhub.db.connect import connect
from predhub.db.errors import BackupRefused
from predhub.db.schema_dump import dump_schema
from predhub.service.testing import SeedMarket, seed_market

SCHEMA_DUMP = Path(migrate.__file__).with_name("schema.sql")
INSERT_TRADE = """
INSERT INTO silver.trades (venue, market_id, trade_key, price, size, executed_at)
SELECT venue, id, $2, 0.5, 1, now() FROM silver.markets WHERE id = $1 RETURNING id
"""


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _unbracketed(text: str) -> str:
    return re.sub(r"[()]", "", text)


async def test_a_backup_under_writes_restores_everything_committed_before_it(
    db_url: str, empty_db_url: str, tmp_path: Path
) -> None:
    conn = await connect(db_url)
    market = await seed_market(conn, SeedMarket(native_id="bk"))
    committed: list[int] = []
    stop = asyncio.Event()
    reached = asyncio.Event()
    target = 200

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            committed.append(await conn.fetchval(INSERT_TRADE, market, f"t{n}"))
            if len(committed) >= target:
                reached.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    await reached.wait()
    before = list(committed)  # every one of these committed before the backup began
    tables: list[str] = []
    result = await backup.backup(db_url, tmp_path / "b.dump", progress=tables.append)
    reached.clear()
    target = len(committed) + 50  # the writer kept going during and after it
    await reached.wait()
    stop.set()
    await task
    await conn.close()
    # trades live in their monthly partitions (silver.trades_pYYYYMMDD)
    assert result.bytes > 0 and any(t.startswith("silver.trades_p") for t in tables)
    assert _names(tmp_path) == ["b.dump"]  # no partial file left

    restored = await backup.restore(empty_db_url, result.path)
    assert restored.schema_current and restored.tables > 10
    target = await connect(empty_db_url)
    try:
        ids = {r["id"] for r in await target.fetch("SELECT id FROM silver.trades")}
        assert set(before) <= ids
        assert len(ids) < len(committed)  # later writes are not in it: one snapshot
        # the same schema; PostgreSQL re-parenthesises a trigger's WHEN clause when it is
        # created again from its deparsed text, so parentheses are left out of the comparison
        assert _unbracketed(await dump_schema(target)) == _unbracketed(SCHEMA_DUMP.read_text())
        assert (await migrate.status(target)).pending == []
    finally:
        await target.close()
    source = await connect(db_url)
    try:
        assert await source.fetchval("SELECT count(*) FROM ops.backups WHERE status = 'done'") == 1
        assert (
            await backup.last_backup_age(source, await source.fetchval("SELECT now()")) is not None
        )
    finally:
        await source.close()


async def test_restore_refuses_a_non_empty_database_and_bad_files(
    db_url: str, tmp_path: Path
) -> None:
    made = await backup.backup(db_url, tmp_path / "x.dump")
    with pytest.raises(BackupRefused, match="not empty"):
        await backup.restore(db_url, made.path)
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"hello")
    with pytest.raises(BackupRefused, match="not a pg_dump custom-format archive"):
        await backup.restore(db_url, junk)
    with pytest.raises(BackupRefused, match="cannot read"):
        await backup.restore(db_url, tmp_path / "missing.dump")


async def test_a_forced_restore_replaces_what_is_there(db_url: str, tmp_path: Path) -> None:
    conn = await connect(db_url)
    try:
        market = await seed_market(conn, SeedMarket(native_id="f1"))
        await conn.fetchval(INSERT_TRADE, market, "kept")
        made = await backup.backup(db_url, tmp_path / "f.dump")
        await conn.fetchval(INSERT_TRADE, market, "after")
    finally:
        await conn.close()
    await backup.restore(db_url, made.path, force=True)
    conn = await connect(db_url)
    try:
        keys = [r["trade_key"] for r in await conn.fetch("SELECT trade_key FROM silver.trades")]
        assert keys == ["kept"]
    finally:
        await conn.close()


async def test_retention_keeps_the_newest(conn: asyncpg.Connection, tmp_path: Path) -> None:
    for day in range(1, 6):
        (tmp_path / f"predhub-2026010{day}T030000Z.dump").write_bytes(b"PGDMP")
    (tmp_path / "other.dump").write_bytes(b"PGDMP")
    gone = await backup.prune_backups(conn, tmp_path, keep=2)
    assert [p.name for p in gone] == [f"predhub-2026010{d}T030000Z.dump" for d in (1, 2, 3)]
    assert _names(tmp_path) == [
        "other.dump",
        "predhub-20260104T030000Z.dump",
        "predhub-20260105T030000Z.dump",
    ]


def test_the_restore_command_refuses_in_one_line(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "PATH": "/usr/bin:/bin", "LOG_JSON": "false"}
    cmd = [sys.executable, "-m", "predhub", "db"]
    made = subprocess.run(
        [*cmd, "backup", str(tmp_path / "c.dump")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert "backup" in made.stdout and "MB" in made.stdout and "dumping" in made.stderr
    refused = subprocess.run(
        [*cmd, "restore", str(tmp_path / "c.dump")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "--force" in refused.stderr


async def test_the_daily_backup_runs_once_per_day_and_keeps_the_newest(
    pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from predhub.scheduler.backups import run_due as backup_due
    from predhub.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, backup_daily=True, backup_dir=tmp_path, backup_keep=2
    )
    day = datetime(2026, 3, 1, 4, tzinfo=UTC)
    written = []
    for offset in range(3):
        now = day + timedelta(days=offset)
        written.append(await backup_due(pool, settings, now=now))
        assert await backup_due(pool, settings, now=now + timedelta(minutes=5)) is None
    assert all(path is not None for path in written)
    assert _names(tmp_path) == [p.name for p in written[1:] if p is not None]


async def test_the_daily_backup_is_a_job_of_its_own_not_part_of_upkeep(
    pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from predhub.scheduler import backups
    from predhub.scheduler.maintenance import upkeep_once
    from predhub.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, backup_daily=True, backup_dir=tmp_path, backup_keep=2
    )
    now = datetime(2026, 3, 1, 4, tzinfo=UTC)  # an hour past the day's slot: due
    await upkeep_once(pool, settings, "w1", lambda: now)
    assert _names(tmp_path) == []  # the upkeep round neither took nor waited for a backup

    stop = asyncio.Event()
    job = asyncio.create_task(backups.run_backups(pool, settings, lambda: now, stop))
    for _ in range(600):
        if any(name.endswith(".dump") for name in _names(tmp_path)):
            break
        await asyncio.sleep(0.1)
    # the upkeep runs while the backup job is alive, and takes no part in it
    await upkeep_once(pool, settings, "w1", lambda: now)
    stop.set()
    await asyncio.wait_for(job, timeout=30)  # it stops when asked, without waiting a day
    assert _names(tmp_path) == ["predhub-20260301T040000Z.dump"]
    assert backups.seconds_to_next(now, 3) == 23 * 3600
