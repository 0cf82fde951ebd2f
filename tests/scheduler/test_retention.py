"""The worker drops raw history past BRONZE_RETENTION_DAYS by whole days, once an hour across workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from ingest.factories import raw
from predhub.db import partitions
from predhub.ingest.bronze import store_responses
from predhub.ingest.pipeline import Ingestor
from predhub.models import RawResponse
from predhub.scheduler.worker import VenueWorker
from predhub.settings import Settings
from predhub.venues.registry import build_venue

from .helpers import add_market
from .simtools import FakeClock

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _raw(page: int, fetched_at: datetime) -> RawResponse:
    response = raw(page=page)
    response.fetched_at = fetched_at
    return response


async def _book(pool: asyncpg.Pool, market_id: int, outcome_id: int, at: datetime) -> None:
    async with pool.acquire() as conn:  # written straight in: its day needs a partition
        await partitions.ensure(conn, partitions.BOOKS, [at])
    await pool.execute(
        "INSERT INTO silver.order_book_snapshots "
        "(market_id, outcome_id, observed_at, fetched_at, bids, asks) "
        "VALUES ($1, $2, $3, $3, '[]', '[]')",
        market_id,
        outcome_id,
        at,
    )


async def test_the_worker_prunes_old_raw_history_and_keeps_recent(pool: asyncpg.Pool) -> None:
    settings = Settings(_env_file=None, bronze_retention_days=30)  # type: ignore[call-arg]
    old_time, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
    old, kept, resighted = _raw(1, old_time), _raw(2, recent), _raw(3, old_time)
    async with pool.acquire() as conn, conn.transaction():
        await store_responses(conn, [old, kept, resighted])
    # seen again: the same day is a sighting, a later day a copy of its own in that day
    again_today, seen_later = _raw(2, recent + timedelta(minutes=1)), _raw(3, recent)
    async with pool.acquire() as conn, conn.transaction():
        await store_responses(conn, [again_today, seen_later])
    assert again_today.bronze_id == kept.bronze_id
    assert seen_later.bronze_id not in (None, resighted.bronze_id)
    market = await add_market(pool, "K-1")
    outcome = await pool.fetchval(
        "INSERT INTO silver.outcomes (market_id, idx, label) VALUES ($1, 0, 'Yes') RETURNING id",
        market,
    )
    for at in (old_time - timedelta(days=1), old_time, recent):
        await _book(pool, market, outcome, at)
    lone_market = await add_market(pool, "K-2")
    lone_outcome = await pool.fetchval(
        "INSERT INTO silver.outcomes (market_id, idx, label) VALUES ($1, 0, 'Yes') RETURNING id",
        lone_market,
    )
    await _book(pool, lone_market, lone_outcome, old_time)  # its only book: kept

    venue = build_venue("kalshi", settings)
    try:
        worker = VenueWorker(
            pool, venue, Ingestor(pool, venue, settings), settings, owner="w1", clock=FakeClock()
        )
        await worker.schedule_loads(NOW)
        again = await worker.prune_history(NOW + timedelta(minutes=5))
    finally:
        await venue.close()

    responses = {r["id"] for r in await pool.fetch("SELECT id FROM bronze.api_responses")}
    assert responses == {kept.bronze_id, seen_later.bronze_id}
    sightings = await pool.fetch("SELECT response_id, fetched_at FROM bronze.response_sightings")
    assert [(s["response_id"], s["fetched_at"]) for s in sightings] == [
        (kept.bronze_id, recent + timedelta(minutes=1))
    ]
    books = await pool.fetch(
        "SELECT outcome_id, observed_at FROM silver.order_book_snapshots ORDER BY outcome_id"
    )
    assert [(b["outcome_id"], b["observed_at"]) for b in books] == [(outcome, recent)]
    latest = await pool.fetch(
        "SELECT outcome_id, observed_at FROM silver.order_book_latest ORDER BY outcome_id"
    )
    # the lone outcome's only book is still served as its current one
    assert [(b["outcome_id"], b["observed_at"]) for b in latest] == [
        (outcome, recent),
        (lone_outcome, old_time),
    ]
    assert again is None  # the hour's slot was claimed by the first pass
