"""Never-seen markets fetched by id on first request, against the simulator over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import pytest
from service_support import running_service

from predhub.service.errors import MarketNotFound
from predhub.service.freshness import CacheState
from predhub.service.service import MarketDataService
from predhub.service.tiers import Freshness
from predhub.sim.config import FaultRule
from predhub.sim.testing import SimHandle

T3 = Freshness("T3", 120.0)
VENUES = "polymarket,kalshi"


async def _service(
    sim: SimHandle, pool: asyncpg.Pool, db_url: str, **overrides: Any
) -> AsyncIterator[MarketDataService]:
    settings = sim.settings(enabled_venues=VENUES, http_max_retries=0, **overrides)
    async with running_service(pool, db_url, settings) as svc:
        yield svc


@pytest.fixture
async def empty_hub(
    sim: SimHandle, pool: asyncpg.Pool, db_url: str
) -> AsyncIterator[MarketDataService]:
    """A service on an empty database: every simulator market is one it has never seen."""
    async for svc in _service(sim, pool, db_url):
        yield svc


def _open_market(sim: SimHandle, venue: str) -> dict[str, Any]:
    return next(m for m in sim.truth(venue=venue, trades=False)["markets"] if m["status"] == "open")


async def test_a_never_seen_market_is_fetched_stored_and_then_served_from_the_database(
    sim: SimHandle, pool: asyncpg.Pool, empty_hub: MarketDataService
) -> None:
    truth = _open_market(sim, "polymarket")
    sim.reset_stats()
    answer = await empty_hub.price(truth["condition_id"], T3)
    assert answer.cache is CacheState.REFRESHED
    assert answer.body is not None
    body = orjson.loads(answer.body)
    assert body["native_id"] == truth["market"]
    assert body["cache"] == "refreshed"
    row = await pool.fetchrow(
        "SELECT m.id, s.quotes_synced_at FROM silver.markets m "
        "JOIN silver.market_sync s ON s.market_id = m.id WHERE m.venue = 'polymarket' "
        "AND m.native_id = $1",
        truth["market"],
    )
    assert row is not None and row["quotes_synced_at"] is not None
    assert answer.market_id == row["id"]
    calls = sim.count("polymarket")
    assert calls > 0

    by_venue_id = await empty_hub.price(f"polymarket:{truth['market']}", T3)
    by_token = await empty_hub.price(truth["outcomes"][1]["token_id"], T3)
    assert by_venue_id.market_id == by_token.market_id == row["id"]
    assert by_venue_id.cache is by_token.cache is CacheState.HIT
    assert sim.count("polymarket") == calls, "a market once fetched is served from the database"


async def test_a_kalshi_ticker_never_seen_is_fetched(
    sim: SimHandle, pool: asyncpg.Pool, empty_hub: MarketDataService
) -> None:
    truth = _open_market(sim, "kalshi")
    answer = await empty_hub.price(truth["market"], T3)
    assert answer.cache is CacheState.REFRESHED
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM silver.markets WHERE venue = 'kalshi' AND native_id = $1",
            truth["market"],
        )
        == 1
    )


async def test_concurrent_requests_for_a_never_seen_id_make_one_lookup(
    sim: SimHandle, pool: asyncpg.Pool, db_url: str, empty_hub: MarketDataService
) -> None:
    """Ten callers in this process and ten in another one: one Gamma lookup in all."""
    truth = _open_market(sim, "polymarket")
    sim.reset_stats()
    async for other in _service(sim, pool, db_url):
        answers = await asyncio.gather(
            *(svc.price(truth["condition_id"], T3) for svc in [empty_hub, other] * 10)
        )
    assert {a.market_id for a in answers} == {answers[0].market_id}
    assert sim.count("polymarket", "/markets/keyset") == 1
    assert await pool.fetchval("SELECT count(*) FROM silver.markets") == 1


async def test_an_id_the_venue_does_not_know_is_a_404_that_says_so(
    sim: SimHandle, empty_hub: MarketDataService
) -> None:
    with pytest.raises(MarketNotFound, match="polymarket has no market"):
        await empty_hub.price("0x" + "ab" * 32, T3)
    asked = sim.count("polymarket")
    with pytest.raises(MarketNotFound, match="polymarket has no market"):
        await empty_hub.price("0x" + "ab" * 32, T3)
    assert sim.count("polymarket") == asked, "a miss is remembered for a while"
    with pytest.raises(MarketNotFound, match="does not name a venue"):
        await empty_hub.price("some-slug-nobody-has", T3)
    with pytest.raises(MarketNotFound, match="not enabled"):
        await empty_hub.price("opinion:123", T3)


async def test_an_unreachable_venue_is_a_404_naming_the_failure(
    sim: SimHandle, empty_hub: MarketDataService
) -> None:
    truth = _open_market(sim, "polymarket")
    sim.set_faults(FaultRule(venue="polymarket", kind="error", status=503))
    with pytest.raises(MarketNotFound, match="polymarket could not be asked"):
        await empty_hub.price(truth["condition_id"], T3)
    sim.clear_faults()
    answer = await empty_hub.price(truth["condition_id"], T3)
    assert answer.cache is CacheState.REFRESHED, "a failure to ask is not remembered as a miss"


async def test_database_only_mode_never_asks_a_venue(
    sim: SimHandle, pool: asyncpg.Pool, db_url: str
) -> None:
    truth = _open_market(sim, "polymarket")
    sim.reset_stats()
    async for svc in _service(sim, pool, db_url, database_only_mode=True):
        with pytest.raises(MarketNotFound, match="DATABASE_ONLY_MODE"):
            await svc.price(truth["condition_id"], T3)
    assert sim.count("polymarket") == 0


async def test_a_batch_fetches_never_seen_ids_and_reports_the_rest(
    sim: SimHandle, empty_hub: MarketDataService
) -> None:
    opens = [
        m for m in sim.truth(venue="polymarket", trades=False)["markets"] if m["status"] == "open"
    ]
    keys = [m["condition_id"] for m in opens[:3]] + ["0x" + "cd" * 32]
    answers = await empty_hub.prices(keys, T3)
    assert [a.cache for a in answers[:3]] == [CacheState.REFRESHED] * 3
    assert answers[3].error is not None and "polymarket has no market" in answers[3].error.message
