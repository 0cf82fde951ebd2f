"""The read path on a real database: ids, tiers, refresh, stale-on-error, single-flight."""

from __future__ import annotations

import asyncio

import asyncpg
import orjson
import pytest
from service_support import make_settings

from predhub.service.errors import MalformedId, MarketNotFound, TooManyIds
from predhub.service.freshness import CacheState
from predhub.service.ids import validate_id
from predhub.service.notify import Listener
from predhub.service.service import MarketDataService
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market, write_quote
from predhub.service.tiers import Freshness

COND = "0x" + "ab" * 32
T3 = Freshness("T3", 120.0)
T2A = Freshness("T2a", 2.0)


async def _seed_forms(conn: asyncpg.Connection) -> dict[str, int]:
    poly = await seed_market(
        conn,
        SeedMarket(
            venue="polymarket",
            native_id="512345",
            condition_id=COND,
            slug="will-it-rain",
            token_ids=("7123456789012345678901234567890", "8123"),
        ),
    )
    kalshi = await seed_market(
        conn, SeedMarket(venue="kalshi", native_id="KXRAIN-26", ticker="KXRAIN-26")
    )
    return {"poly": poly, "kalshi": kalshi}


async def test_every_id_form_resolves(service: MarketDataService, conn: asyncpg.Connection) -> None:
    ids = await _seed_forms(conn)
    forms = {
        str(ids["poly"]): ids["poly"],
        "polymarket:512345": ids["poly"],
        COND: ids["poly"],
        COND.upper().replace("0X", "0x"): ids["poly"],
        "7123456789012345678901234567890": ids["poly"],
        "will-it-rain": ids["poly"],
        "512345": ids["poly"],  # a bare native id (no market of ours has id 512345)
        "kalshi:KXRAIN-26": ids["kalshi"],
        "KXRAIN-26": ids["kalshi"],
        "kxrain-26": ids["kalshi"],
    }
    resolved = await service.resolve(list(forms))
    assert resolved == forms
    assert await service.resolve(["nope", "kalshi:NOPE"]) == {}


def test_malformed_ids_are_refused() -> None:
    for bad in ("", "   ", "a b", "x" * 300, "nasdaq:AAPL", "kalshi:", "é"):
        with pytest.raises(MalformedId):
            validate_id(bad)
    assert validate_id(" 42 ") == "42"


async def test_fresh_row_is_a_hit_without_refresh(
    service: MarketDataService, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=10))
    answer = await service.price(str(market_id), T3)
    doc = orjson.loads(answer.body or b"")
    assert doc["cache"] == "hit" and doc["stale"] is False and doc["source"] == "database"
    assert doc["tier"] == "T3" and doc["outcomes"][0]["price"] == 0.6
    assert doc["as_of"] is not None and doc["fetched_at"] is not None
    assert refresher.calls == []


async def test_stale_row_is_refreshed_and_written_back(
    service: MarketDataService, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=10))
    answer = await service.price(str(market_id), T2A)
    doc = orjson.loads(answer.body or b"")
    assert doc["cache"] == "refreshed" and doc["source"] == "venue"
    assert doc["outcomes"][0]["price"] == 0.7
    assert refresher.calls == [("polymarket", [market_id])]
    # Written back: the next T2a read within 2 s is a hit.
    again = orjson.loads((await service.price(str(market_id), T2A)).body or b"")
    assert again["cache"] == "hit" and again["outcomes"][0]["price"] == 0.7
    assert len(refresher.calls) == 1


async def test_missing_quotes_are_fetched(
    service: MarketDataService, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=None))
    answer = await service.price(str(market_id), Freshness("T4", 900))
    doc = orjson.loads(answer.body or b"")
    assert doc["cache"] == "refreshed" and doc["outcomes"][1]["price"] == pytest.approx(0.3)


async def test_closed_and_resolved_markets_never_refresh(
    service: MarketDataService, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    closed = await seed_market(conn, SeedMarket(native_id="c", status="closed", synced_ago=1e6))
    resolved = await seed_market(
        conn, SeedMarket(native_id="r", status="resolved", synced_ago=None, winning_outcome=0)
    )
    answers = await service.prices([str(closed), str(resolved)], Freshness("custom", 0.0))
    assert [a.cache for a in answers] == [CacheState.HIT, CacheState.HIT]
    answers = await service.prices([str(closed)], T3, live=True)
    assert answers[0].cache is CacheState.HIT
    assert orjson.loads(answers[0].body or b"")["status"] == "closed"
    assert refresher.calls == []


async def test_venue_outage_serves_last_known_data_as_stale(
    service: MarketDataService, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=60))
    refresher.fail = "503 Service Unavailable"
    doc = orjson.loads((await service.price(str(market_id), T2A)).body or b"")
    assert doc["stale"] is True and doc["cache"] == "stale"
    assert "503" in doc["stale_reason"]
    assert doc["outcomes"][0]["price"] == 0.6
    # Within the failure backoff, no new upstream call is made.
    doc = orjson.loads((await service.price(str(market_id), T2A)).body or b"")
    assert doc["stale"] is True and len(refresher.calls) == 1


async def test_unknown_id_is_not_found(service: MarketDataService) -> None:
    with pytest.raises(MarketNotFound, match="no market"):
        await service.price("kalshi:NEVER-SEEN", T3)
    answers = await service.prices(["999999"], T3)
    assert answers[0].error is not None and answers[0].body is None


async def test_more_than_1000_ids_is_refused(service: MarketDataService) -> None:
    with pytest.raises(TooManyIds):
        await service.prices([str(i) for i in range(1001)], T3)


async def test_database_only_mode_never_refreshes(
    pool: asyncpg.Pool, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    svc = MarketDataService(pool, make_settings(database_only_mode=True), refresher=refresher)
    await svc.start()
    try:
        market_id = await seed_market(conn, SeedMarket(synced_ago=600))
        doc = orjson.loads((await svc.price(str(market_id), T2A)).body or b"")
        assert doc["stale"] is True and "database_only_mode" in doc["stale_reason"]
        doc = orjson.loads((await svc.price(str(market_id), T2A, live=True)).body or b"")
        assert doc["stale"] is True
    finally:
        await svc.stop()
    assert refresher.calls == []


async def test_100_concurrent_requests_make_one_upstream_call(
    service: MarketDataService, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=30))
    answers = await asyncio.gather(*(service.price(str(market_id), T2A) for _ in range(100)))
    assert len(refresher.calls) == 1
    # A caller the loaded event loop starts only after the refresh wrote finds the row
    # fresh (a hit); none is served stale.
    assert {a.cache for a in answers} <= {CacheState.REFRESHED, CacheState.HIT}
    assert sum(a.cache is CacheState.REFRESHED for a in answers) >= 1


async def test_a_stale_batch_is_grouped_into_one_call_per_venue(
    service: MarketDataService, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    ids = []
    for i in range(60):
        venue = "polymarket" if i % 3 else "kalshi"
        ids.append(
            await seed_market(conn, SeedMarket(venue=venue, native_id=f"n{i}", synced_ago=99))
        )
    answers = await service.prices([str(i) for i in ids], T2A)
    assert all(a.cache is CacheState.REFRESHED for a in answers)
    assert sorted(v for v, _ in refresher.calls) == ["kalshi", "polymarket"]
    assert sum(len(batch) for _, batch in refresher.calls) == 60


async def test_two_services_share_one_refresh_through_the_advisory_lock(
    db_url: str, pool: asyncpg.Pool, conn: asyncpg.Connection, settings: object
) -> None:
    """Two independent services (two pools, as two processes would have) race for one market."""
    from predhub.db.connect import create_pool

    other_pool = await create_pool(db_url, min_size=1, max_size=4)
    counting = [WritingRefresher(pool, latency=0.3), WritingRefresher(other_pool, latency=0.3)]
    services = [
        MarketDataService(pool, make_settings(), refresher=counting[0]),
        MarketDataService(other_pool, make_settings(), refresher=counting[1]),
    ]
    try:
        market_id = await seed_market(conn, SeedMarket(synced_ago=30))
        answers = await asyncio.gather(
            *(services[i % 2].price(str(market_id), T2A) for i in range(20))
        )
        assert sum(len(r.calls) for r in counting) == 1
        assert {a.cache for a in answers} == {CacheState.REFRESHED}
    finally:
        for svc in services:
            await svc.stop()
        await other_pool.close()


async def test_cache_is_invalidated_by_notifications(
    service: MarketDataService, conn: asyncpg.Connection, listener: Listener
) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=1))
    await service.price(str(market_id), T3)
    assert service.cache.get(market_id) is not None
    await write_quote(conn, market_id, [0.11, 0.89], notify=False)  # the 0004 triggers notify
    for _ in range(100):
        if service.cache.get(market_id) is None:
            break
        await asyncio.sleep(0.01)
    doc = orjson.loads((await service.price(str(market_id), T3)).body or b"")
    assert doc["outcomes"][0]["price"] == 0.11


async def test_interest_is_marked(service: MarketDataService, conn: asyncpg.Connection) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=1))
    await service.price(str(market_id), T3)
    await service.interest.flush()
    assert await conn.fetchval(
        "SELECT interest_at FROM silver.market_sync WHERE market_id=$1", market_id
    )
