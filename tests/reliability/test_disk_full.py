"""The database's disk fills up under ingestion, then space comes back.

The trial's server keeps its data directory on a small tmpfs; a filler file
takes all but a little of it, and `predhub worker` ingests the simulator's
world into it. Ingestion must fail with one clear line per failure (no
traceback storm), leave silver consistent (a market's trades are all there or
not yet there: never part of a page), and resume by itself when the filler is
deleted, until silver's trades equal the simulator's truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from predhub.sim.testing import SimHandle, running_simulator
from reliability.stack import (
    Proc,
    dedicated_server,
    migrated,
    predhub_process,
    stack_env,
    wait_for_markets,
)
from reliability.test_db_chaos import wait_for_truth
from scheduler.simtools import silver_trades, tiny_world, truth_trades

TMPFS_MEGABYTES = 160
LEFT_FREE_BYTES = 2 * 1024 * 1024
DISK_FULL_MARKERS = ("No space left on device", "DiskFullError", "could not extend file")


@contextlib.contextmanager
def small_tmpfs(where: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` at `where`, unmounted afterwards; skips when mounting is refused."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=1777", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill_disk(where: Path, leave: int) -> Path:
    """Write a file taking all of `where`'s free space but `leave` bytes."""
    stats = os.statvfs(where)
    free = stats.f_bavail * stats.f_frsize
    filler = where / "filler"
    chunk = b"\0" * (1024 * 1024)
    with open(filler, "wb") as handle:
        remaining = max(0, free - leave)
        while remaining > 0:
            handle.write(chunk[: min(len(chunk), remaining)])
            remaining -= len(chunk)
    return filler


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(tiny_world(kalshi_markets=400)) as handle:
        yield handle


async def wait_for_disk_full(worker: Proc, within: float = 90) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if any(marker in worker.log() for marker in DISK_FULL_MARKERS):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"ingestion never hit the full disk:\n{worker.log()[-3000:]}")


async def assert_silver_consistent(url: str, sim: SimHandle) -> None:
    """Each market holds all of its trades or none of a page: never more than the truth."""
    truth = truth_trades(sim, "kalshi")
    conn = await asyncpg.connect(url)
    try:
        stored = await silver_trades(conn, "kalshi")
        orphans = await conn.fetchval(
            "SELECT count(*) FROM silver.trades t"
            " WHERE NOT EXISTS (SELECT 1 FROM silver.markets m WHERE m.id = t.market_id)"
        )
        no_outcomes = await conn.fetchval(
            "SELECT count(*) FROM silver.markets m"
            " WHERE NOT EXISTS (SELECT 1 FROM silver.outcomes o WHERE o.market_id = m.id)"
        )
        synced_short = await conn.fetch(
            "SELECT m.native_id FROM silver.markets m JOIN silver.market_sync s"
            " ON s.market_id = m.id WHERE s.trades_synced_at IS NOT NULL"
        )
    finally:
        await conn.close()
    assert orphans == 0
    assert no_outcomes == 0, "a market was stored without its outcomes"
    for market, held in stored.items():
        assert not held - truth.get(market, held - held), f"{market}: trades the venue never had"
        assert all(n == 1 for n in held.values()), f"{market}: a trade stored twice"
    for row in synced_short:
        market = row["native_id"]
        assert stored.get(market, {}) == truth.get(market, {}) or not truth.get(market), (
            f"{market} is marked synced but holds part of its trades"
        )


@pytest.mark.slow  # a world big enough that the disk fills mid-sync takes a minute
async def test_disk_full_fails_cleanly_and_resumes(tmp_path: Path, sim: SimHandle) -> None:
    with (
        small_tmpfs(tmp_path / "disk", TMPFS_MEGABYTES) as disk,
        dedicated_server(disk / "pg") as server,
    ):
        assert server.server is not None
        url = server.server.url
        await migrated(url)
        env = stack_env(url, sim, RATE_LIMIT_SCALE="0.5")
        with predhub_process(["worker"], env, tmp_path / "worker.log") as worker:
            # the catalogue is in and trade pages are being written when space runs out
            await wait_for_markets(url, 1)
            filler = fill_disk(disk, LEFT_FREE_BYTES)
            await wait_for_disk_full(worker)
            await asyncio.sleep(3.0)  # a few more failing cycles
            assert worker.alive(), f"the worker died on a full disk:\n{worker.log()[-3000:]}"
            log = worker.log()
            assert "Traceback" not in log, log[-4000:]
            failures = [ln for ln in log.splitlines() if any(m in ln for m in DISK_FULL_MARKERS)]
            assert failures
            await assert_silver_consistent(url, sim)
            filler.unlink()  # space returns
            assert await wait_for_truth(url, sim, "kalshi") > 0
            assert worker.alive()
            await assert_silver_consistent(url, sim)
