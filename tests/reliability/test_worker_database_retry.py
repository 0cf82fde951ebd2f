"""A worker whose database is away keeps retrying it closely, and carries on when it returns.

A venue that fails is backed off for minutes; the database must not be, or a
worker would sit idle long after a restart of the database that lasted seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from predhub.db.connect import create_pool
from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.worker import DATABASE_RETRY_MAX_SECONDS, VenueWorker
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.registry import build_venue
from reliability.stack import dedicated_server, migrated, restart
from scheduler.simtools import tiny_world

FAILURES_SEEN = 8  # enough that an exponential backoff would be far past the cap


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(tiny_world(kalshi_markets=20)) as handle:
        yield handle


async def wait_for(condition: object, what: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {within} s")


async def jobs_done(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM ops.jobs WHERE status = 'done'"))


async def wait_until_jobs_done(pool: asyncpg.Pool, more_than: int, within: float = 60) -> None:
    """Poll (bounded) until the worker has finished more than `more_than` jobs."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            if await jobs_done(pool) > more_than:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the worker finished no more than {more_than} jobs in {within} s")


async def test_worker_retries_a_lost_database_closely_and_resumes(
    tmp_path: Path, sim: SimHandle
) -> None:
    settings = sim.settings(scheduler_cycle_seconds=0.1, http_backoff_base_seconds=0.01)
    with dedicated_server(tmp_path / "pg") as server:
        assert server.server is not None
        await migrated(server.server.url)
        pool = await create_pool(server.server.url, min_size=1, max_size=4)
        venue = build_venue("kalshi", settings)
        worker = VenueWorker(pool, venue, Ingestor(pool, venue, settings), settings)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            await wait_until_jobs_done(pool, more_than=0)
            done_before = await jobs_done(pool)
            server.stop()
            await wait_for(
                lambda: worker.database_failures >= FAILURES_SEEN, "repeated database failures"
            )
            assert not task.done(), "the worker loop died with the database"
            pause = worker.pause_after(worker.clock())
            assert pause <= DATABASE_RETRY_MAX_SECONDS, pause
            restart(server)
            await wait_for(lambda: worker.database_failures == 0, "a cycle after the return")
            await wait_until_jobs_done(pool, more_than=done_before)  # ingestion goes on
            assert not task.done()
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=30)
            await pool.close()
            await venue.close()
