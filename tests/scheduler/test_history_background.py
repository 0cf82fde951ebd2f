"""HISTORY_LOAD_ENABLED: the worker walks the closed catalogue a few pages at a time, in the background."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from predhub.ingest.catalogue import CHECKPOINT_KIND, Checkpoint
from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.worker import VenueWorker
from predhub.sim.testing import SimHandle, running_simulator
from predhub.venues.base import Venue
from predhub.venues.registry import build_venue

from .simtools import FakeClock, tiny_world
from .test_worker import FAST

PAGE = 20  # closed markets a listing page, so the walk takes several runs


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with running_simulator(tiny_world(closed={"polymarket": 70})) as handle:
        yield handle


@pytest.fixture
async def venues() -> AsyncIterator[list[Venue]]:
    made: list[Venue] = []
    yield made
    for v in made:
        await v.close()


def worker(
    pool: asyncpg.Pool, sim: SimHandle, made: list[Venue], clock: FakeClock, **env: Any
) -> VenueWorker:
    settings = sim.settings(**FAST, **env)
    venue = build_venue("polymarket", settings)
    venue.markets_page_size = PAGE  # type: ignore[attr-defined]
    made.append(venue)
    ingestor = Ingestor(pool, venue, settings)
    return VenueWorker(pool, venue, ingestor, settings, owner="w1", clock=clock, restamp=True)


async def closed_pages_read(pool: asyncpg.Pool) -> int:
    value = await pool.fetchval(
        "SELECT count(*) FROM bronze.api_responses WHERE venue = 'polymarket' "
        "AND endpoint = '/markets/keyset' AND params->>'closed' = 'true'"
    )
    return int(value)


async def checkpoint(pool: asyncpg.Pool) -> Checkpoint:
    return Checkpoint.parse(
        await pool.fetchval(
            "SELECT watermark FROM ops.sync_state WHERE venue = 'polymarket' AND kind = $1",
            CHECKPOINT_KIND,
        )
    )


async def test_the_worker_walks_history_pages_per_interval_at_the_lowest_priority(
    pool: asyncpg.Pool, sim: SimHandle, venues: list[Venue]
) -> None:
    clock = FakeClock()  # just after an hour's start: the 60 s step below stays in its slot
    w = worker(
        pool,
        sim,
        venues,
        clock,
        history_load_enabled=True,
        history_load_pages=2,
        history_load_interval_seconds=600,
    )
    await w.cycle(drain=True)  # an empty database: the static load alone
    assert await closed_pages_read(pool) == 0
    clock.advance(600)  # the next interval's slot
    await w.cycle(drain=True)
    runs = await pool.fetch("SELECT priority, status FROM ops.jobs WHERE kind = 'history_load'")
    assert [r["status"] for r in runs] == ["done"]
    lowest = await pool.fetchval("SELECT min(priority) FROM ops.jobs")
    assert runs[0]["priority"] == lowest  # the past waits for the present
    assert await closed_pages_read(pool) == 2  # HISTORY_LOAD_PAGES, then it stops
    first = await checkpoint(pool)
    assert first.cursor and first.completed_from is None

    clock.advance(60)  # within the interval: no new walk
    await w.cycle(drain=True)
    assert await closed_pages_read(pool) == 2
    for _ in range(10):  # each interval walks two more pages from the checkpoint
        clock.advance(600)
        await w.cycle(drain=True)
        if (await checkpoint(pool)).completed_from:
            break
    done = await checkpoint(pool)
    assert done.completed_from is not None and done.cursor is None
    archived = {
        m["market"]
        for m in sim.truth(venue="polymarket", trades=False)["markets"]
        if m["status"] in ("resolved", "voided")
    }
    held = {
        r["native_id"]
        for r in await pool.fetch(
            "SELECT m.native_id FROM silver.markets m JOIN silver.market_sync s"
            " ON s.market_id = m.id WHERE m.venue = 'polymarket'"
            " AND s.history_synced_at IS NOT NULL"
        )
    }
    assert archived <= held, "the background walk reached every resolved market"


async def test_without_the_setting_the_worker_never_walks_history(
    pool: asyncpg.Pool, sim: SimHandle, venues: list[Venue]
) -> None:
    clock = FakeClock()
    w = worker(pool, sim, venues, clock)
    assert w.settings.history_load_enabled is False  # the default
    await w.cycle(drain=True)
    clock.advance(3600)
    await w.cycle(drain=True)
    assert not await pool.fetchval("SELECT count(*) FROM ops.jobs WHERE kind = 'history_load'")
    assert await closed_pages_read(pool) == 0
