"""The job queue and the shared budget on real PostgreSQL: leases, dedupe, caps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from predhub.scheduler import jobs
from predhub.venues import budget

NOW = datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC)


def new(key: str, *markets: int, priority: int = 0, cost: int = 1) -> jobs.NewJob:
    return jobs.NewJob("kalshi", "quotes", key, market_ids=markets, priority=priority, cost=cost)


async def test_enqueue_skips_live_duplicates(pool: asyncpg.Pool) -> None:
    assert await jobs.enqueue(pool, [new("a", 1, 2), new("b", 3)], now=NOW) == 2
    assert await jobs.enqueue(pool, [new("a", 9), new("c", 4)], now=NOW) == 1
    row = await pool.fetchrow("SELECT market_ids FROM ops.jobs WHERE dedupe_key = 'a'")
    assert list(row["market_ids"]) == [1, 2]
    assert await jobs.busy_markets(pool, "kalshi") == {"quotes": {1, 2, 3, 4}}
    assert await jobs.queued_cost(pool, "kalshi") == 3


async def test_concurrent_claims_never_share_a_job(pool: asyncpg.Pool) -> None:
    await jobs.enqueue(pool, [new(f"j{i}", i) for i in range(60)], now=NOW)

    async def claimer(owner: str) -> list[int]:
        got: list[int] = []
        while batch := await jobs.claim(pool, "kalshi", owner, now=NOW, lease_seconds=60, limit=3):
            got += [j.id for j in batch]
        return got

    results = await asyncio.gather(*(claimer(f"w{i}") for i in range(6)))
    claimed = [i for r in results for i in r]
    assert len(claimed) == 60 and len(set(claimed)) == 60
    assert await jobs.claim(pool, "polymarket", "w", now=NOW, lease_seconds=60) == []


async def test_claims_follow_priority(pool: asyncpg.Pool) -> None:
    await jobs.enqueue(pool, [new("low", 1, priority=1), new("high", 2, priority=4)], now=NOW)
    (first,) = await jobs.claim(pool, "kalshi", "w", now=NOW, lease_seconds=60)
    assert first.dedupe_key == "high" and first.attempts == 1


async def test_an_expired_lease_is_taken_over(pool: asyncpg.Pool) -> None:
    await jobs.enqueue(pool, [new("j", 1)], now=NOW)
    (job,) = await jobs.claim(pool, "kalshi", "crashed", now=NOW, lease_seconds=60)
    # while the lease runs nobody else gets it
    assert (
        await jobs.claim(pool, "kalshi", "b", now=NOW + timedelta(seconds=59), lease_seconds=60)
        == []
    )
    (again,) = await jobs.claim(
        pool, "kalshi", "b", now=NOW + timedelta(seconds=61), lease_seconds=60
    )
    assert again.id == job.id and again.attempts == 2 and again.lease_owner == "b"
    # the crashed owner coming back cannot finish or fail it any more
    assert not await jobs.complete(pool, job, "crashed", now=NOW)
    assert (
        await jobs.fail(pool, job, "crashed", now=NOW, error="x", retry_in=1, max_attempts=5) == ""
    )
    assert await jobs.complete(pool, again, "b", now=NOW + timedelta(seconds=62))
    status = await pool.fetchval("SELECT status FROM ops.jobs WHERE id = $1", job.id)
    assert status == "done"
    # a done job frees its dedupe key and its markets
    assert await jobs.busy_markets(pool, "kalshi") == {}
    assert await jobs.enqueue(pool, [new("j", 1)], now=NOW) == 1


async def test_extend_lease_keeps_a_long_job(pool: asyncpg.Pool) -> None:
    await jobs.enqueue(pool, [new("j", 1)], now=NOW)
    (job,) = await jobs.claim(pool, "kalshi", "a", now=NOW, lease_seconds=60)
    assert await jobs.extend_lease(
        pool, job, "a", now=NOW + timedelta(seconds=50), lease_seconds=60
    )
    assert (
        await jobs.claim(pool, "kalshi", "b", now=NOW + timedelta(seconds=90), lease_seconds=60)
        == []
    )
    assert not await jobs.extend_lease(pool, job, "b", now=NOW, lease_seconds=60)


async def test_failures_back_off_then_give_up(pool: asyncpg.Pool) -> None:
    await jobs.enqueue(pool, [new("j", 1)], now=NOW)
    t = NOW
    for attempt in range(1, 4):
        (job,) = await jobs.claim(pool, "kalshi", "a", now=t, lease_seconds=60)
        assert job.attempts == attempt
        status = await jobs.fail(pool, job, "a", now=t, error="boom", retry_in=10, max_attempts=3)
        assert status == ("failed" if attempt == 3 else "queued")
        assert (
            await jobs.claim(pool, "kalshi", "a", now=t + timedelta(seconds=5), lease_seconds=60)
            == []
        )
        t += timedelta(seconds=11)
    assert await jobs.claim(pool, "kalshi", "a", now=t + timedelta(hours=1), lease_seconds=60) == []
    assert await pool.fetchval("SELECT last_error FROM ops.jobs") == "boom"


async def test_release_does_not_count_as_an_attempt(pool: asyncpg.Pool) -> None:
    await jobs.enqueue(pool, [new("j", 1)], now=NOW)
    (job,) = await jobs.claim(pool, "kalshi", "a", now=NOW, lease_seconds=60)
    await jobs.release(pool, job, "a", run_after=NOW + timedelta(seconds=30))
    assert await jobs.claim(pool, "kalshi", "a", now=NOW, lease_seconds=60) == []
    (again,) = await jobs.claim(
        pool, "kalshi", "a", now=NOW + timedelta(seconds=30), lease_seconds=60
    )
    assert again.attempts == 1


async def test_prune_keeps_live_jobs(pool: asyncpg.Pool) -> None:
    await jobs.enqueue(pool, [new("a", 1), new("b", 2)], now=NOW)
    (job, _) = await jobs.claim(pool, "kalshi", "w", now=NOW, lease_seconds=60, limit=2)
    await jobs.complete(pool, job, "w", now=NOW)
    assert await jobs.prune(pool, before=NOW + timedelta(seconds=1)) == 1
    assert await pool.fetchval("SELECT count(*) FROM ops.jobs") == 1


async def test_concurrent_reservations_never_pass_the_cap(pool: asyncpg.Pool) -> None:
    async def spender() -> int:
        granted = 0
        for _ in range(40):
            if await budget.reserve(pool, "kalshi", 3, cap=100, now=NOW):
                granted += 3
        return granted

    granted = sum(await asyncio.gather(*(spender() for _ in range(6))))
    assert granted == 99
    assert await budget.used_this_minute(pool, "kalshi", NOW) == 99
    # the next minute has a fresh budget; a cost above the cap is never granted
    later = NOW + timedelta(minutes=1)
    assert await budget.reserve(pool, "kalshi", 100, cap=100, now=later)
    assert not await budget.reserve(pool, "kalshi", 5, cap=4, now=later + timedelta(minutes=2))


async def test_book_records_extra_requests_and_errors(pool: asyncpg.Pool) -> None:
    await budget.book(pool, "kalshi", now=NOW, requests=4, errors=2, retries=1)
    await budget.book(pool, "kalshi", now=NOW, requests=1)
    row = await pool.fetchrow("SELECT requests, errors, retries FROM ops.venue_usage")
    assert tuple(row) == (5, 2, 1)
