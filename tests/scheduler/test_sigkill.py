"""SIGKILL at random points: after a restart silver holds every trade exactly once.

Each trial starts `predhub worker` as a real process against a fresh
database and the simulator, kills it with SIGKILL at a random moment (twice),
then restarts it with `--once` after the dead workers' leases have expired.
The restarted worker takes over the orphaned jobs; trade pages and their
watermark commit together, so the trades per market must equal the
simulator's ground truth exactly: none lost, none stored twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from predhub.sim.testing import SimHandle, running_simulator

from .simtools import assert_trades_match_truth, tiny_world

LEASE_SECONDS = 1.5


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(tiny_world(kalshi_markets=80)) as handle:
        yield handle


def worker_env(db_url: str, sim: SimHandle) -> dict[str, str]:
    env = {**os.environ, **sim.env}
    env.update(
        DATABASE_URL=db_url,
        ENABLED_VENUES="kalshi",
        WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
        SCHEDULER_CYCLE_SECONDS="0.5",
        HTTP_BACKOFF_BASE_SECONDS="0.01",
        LOG_LEVEL="WARNING",
        # a slower venue budget stretches the sync over seconds, so kills land inside it
        RATE_LIMIT_SCALE="0.5",
    )
    return env


async def start_worker(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "predhub.cli",
        "worker",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_trial(
    seed: int, db_url: str, pool: asyncpg.Pool, sim: SimHandle, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    env = worker_env(db_url, sim)
    for _ in range(2):
        proc = await start_worker(env, tmp_path)
        await asyncio.sleep(rng.uniform(1.0, 3.5))  # imports take about a second; then syncs
        assert proc.returncode is None, "the worker exited before it was killed"
        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.communicate(), timeout=10)
    await asyncio.sleep(LEASE_SECONDS + 0.5)  # the dead workers' leases run out
    final = await start_worker(env, tmp_path, "--once")
    out, err = await asyncio.wait_for(final.communicate(), timeout=180)
    assert final.returncode == 0, err.decode()
    taken_over = await pool.fetchval("SELECT count(*) FROM ops.jobs WHERE attempts > 1")
    print(out.decode().strip(), f"jobs taken over: {taken_over}")
    compared = await assert_trades_match_truth(pool, sim, "kalshi")
    assert compared > 0
    live = await pool.fetchval(
        "SELECT count(*) FROM ops.jobs WHERE status IN ('queued', 'running')"
    )
    assert live == 0


@pytest.mark.parametrize("trial", range(3))
async def test_sigkill_loses_and_duplicates_no_trade(
    trial: int, db_url: str, pool: asyncpg.Pool, sim: SimHandle, tmp_path: Path
) -> None:
    await run_trial(trial, db_url, pool, sim, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(100, 120))
async def test_sigkill_trials_slow(
    trial: int, db_url: str, pool: asyncpg.Pool, sim: SimHandle, tmp_path: Path
) -> None:
    await run_trial(trial, db_url, pool, sim, tmp_path)
