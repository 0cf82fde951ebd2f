"""The HTTP API on a real database: routes, shapes, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
import pytest
from api_support import ADMIN_KEY
from fastapi import FastAPI

from predhub.api.keys import create_key
from predhub.db import partitions, search_words
from predhub.gold.history import rollup
from predhub.gold.refresh import GoldConfig, refresh
from predhub.service import catalog
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market
from predhub.settings import Settings
from predhub.venues.descriptor import venue_names

COND = "0x" + "cd" * 32


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code


async def _seed_world(conn: asyncpg.Connection) -> dict[str, int]:
    now = datetime.now(UTC)
    ids = {
        "btc": await seed_market(
            conn,
            SeedMarket(
                native_id="btc",
                question="Will Bitcoin reach $200,000 by December 31?",
                condition_id=COND,
                slug="bitcoin-200k",
                category="Crypto",
                event_native_id="ev-btc",
                event_title="Bitcoin price",
                volume_24h=50_000,
                end_at=now + timedelta(days=30),
                synced_ago=5,
            ),
        ),
        "eth": await seed_market(
            conn,
            SeedMarket(
                native_id="eth",
                question="Will Ethereum flip Bitcoin?",
                category="Crypto",
                volume_24h=20_000,
                liquidity=9_000,
                end_at=now + timedelta(days=2),
                synced_ago=5,
            ),
        ),
        "fed": await seed_market(
            conn,
            SeedMarket(
                venue="kalshi",
                native_id="KXFED-26",
                ticker="KXFED-26",
                question="Will the Fed cut rates in March?",
                category="Economics",
                volume_24h=30_000,
                synced_ago=5,
            ),
        ),
        "old": await seed_market(
            conn,
            SeedMarket(
                native_id="old",
                question="Did Bitcoin close above $100,000 in 2024?",
                status="resolved",
                winning_outcome=1,
                volume_24h=0,
                synced_ago=None,
            ),
        ),
    }
    return ids


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_price_hit_and_refresh(
    client: httpx.AsyncClient, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    ids = await _seed_world(conn)
    hit = (await client.get(f"/v1/markets/{ids['btc']}/price", params={"tier": "T3"})).json()
    assert hit["cache"] == "hit" and hit["tier"] == "T3" and hit["stale"] is False
    for field in ("as_of", "fetched_at", "source", "tier", "cache"):
        assert field in hit
    fresh = (await client.get(f"/v1/markets/{COND}/price", params={"max_age": 1})).json()
    assert fresh["cache"] == "refreshed" and fresh["outcomes"][0]["price"] == 0.7
    assert refresher.calls == [("polymarket", [ids["btc"]])]
    live = (await client.get("/v1/markets/kalshi:KXFED-26/price/live")).json()
    assert live["cache"] == "refreshed" and live["id"] == ids["fed"]


async def test_quote_follows_the_tier_like_price(
    client: httpx.AsyncClient, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    ids = await _seed_world(conn)
    hit = (await client.get(f"/v1/markets/{ids['eth']}/quote", params={"max_age": 3600})).json()
    assert (hit["cache"], hit["stale"], refresher.calls) == ("hit", False, [])
    fresh = (await client.get(f"/v1/markets/{ids['eth']}/quote", params={"max_age": 0})).json()
    assert fresh["cache"] == "refreshed" and fresh["outcomes"][0]["price"] == 0.7
    assert refresher.calls == [("polymarket", [ids["eth"]])]
    assert_error(await client.get(f"/v1/markets/{ids['eth']}/quote?tier=T9"), 400)


async def test_a_never_seen_id_asks_the_venue_and_says_what_it_answered(
    client: httpx.AsyncClient, refresher: WritingRefresher
) -> None:
    unknown = await client.get("/v1/markets/" + "0x" + "ef" * 32 + "/price")
    assert_error(unknown, 404, "not_found")
    assert "polymarket has no market" in unknown.json()["error"]["message"]
    assert refresher.calls == [("polymarket", [])]
    unnamed = await client.get("/v1/markets/no-such-slug")
    assert_error(unnamed, 404, "not_found")
    assert "does not name a venue" in unnamed.json()["error"]["message"]


async def test_batch_prices(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    ids = await _seed_world(conn)
    body = {"ids": [str(ids["btc"]), "KXFED-26", "nope-never"], "tier": "dashboard"}
    response = await client.post("/v1/prices", json=body)
    assert response.status_code == 200
    prices = response.json()["prices"]
    assert prices[str(ids["btc"])]["id"] == ids["btc"]
    assert prices["KXFED-26"]["venue"] == "kalshi"
    assert prices["nope-never"]["error"]["code"] == "not_found"


async def test_venue_outage_is_stale_not_an_error(
    client: httpx.AsyncClient, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    ids = await _seed_world(conn)
    refresher.fail = "429 Too Many Requests"
    for _ in range(5):
        response = await client.get(f"/v1/markets/{ids['eth']}/price", params={"tier": "T2a"})
        assert response.status_code == 200
        doc = response.json()
        assert doc["stale"] is True and "429" in doc["stale_reason"]


async def test_bad_input_is_4xx_with_the_error_shape(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ids = await _seed_world(conn)
    mid = ids["btc"]
    assert_error(await client.get("/v1/markets/999999/price"), 404, "not_found")
    assert_error(await client.get("/v1/markets/kalshi:NOPE"), 404, "not_found")
    assert_error(await client.get("/v1/markets/nasdaq:AAPL/price"), 400, "malformed_id")
    assert_error(await client.get(f"/v1/markets/{mid}/price?tier=T9"), 400, "unknown_tier")
    assert_error(await client.get(f"/v1/markets/{mid}/price?max_age=-1"), 422)
    assert_error(await client.get(f"/v1/markets/{mid}/price?max_age=abc"), 422)
    assert_error(await client.get("/v1/markets?cursor=garbage!!"), 400, "bad_cursor")
    assert_error(await client.get("/v1/markets?cursor=WyJ4Il0"), 400, "bad_cursor")
    assert_error(await client.post("/v1/prices", json={"ids": [str(i) for i in range(1001)]}), 400)
    assert_error(await client.post("/v1/prices", json={"ids": []}), 422)
    assert_error(await client.post("/v1/prices", content=b"{not json"), 422)
    big = b'{"ids": ["' + b"1" * 400_000 + b'"]}'
    assert_error(
        await client.post("/v1/prices", content=big, headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )
    assert_error(await client.get("/v1/no/such/route"), 404, "not_found")
    assert_error(await client.get("/v1/markets?category=a%00b"), 400, "bad_request")
    assert_error(await client.get("/v1/search?q=%00"), 400, "bad_request")
    assert_error(await client.get("/v1/markets?sort=random"), 422)
    assert_error(
        await client.get(f"/v1/markets/{mid}/history?interval=1m&start=2000-01-01T00:00:00Z"), 400
    )
    assert_error(await client.get(f"/v1/markets/{mid}/trades?cursor=abc"), 400, "bad_cursor")


async def test_market_list_filters_sorts_and_pages(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ids = await _seed_world(conn)
    page = (await client.get("/v1/markets", params={"limit": 2})).json()
    assert [m["id"] for m in page["data"]] == [ids["btc"], ids["fed"]]
    rest = (
        await client.get("/v1/markets", params={"limit": 2, "cursor": page["next_cursor"]})
    ).json()
    assert [m["id"] for m in rest["data"]] == [ids["eth"], ids["old"]]
    assert rest["next_cursor"] is None
    kalshi = (await client.get("/v1/markets", params={"venue": "kalshi"})).json()["data"]
    assert [m["id"] for m in kalshi] == [ids["fed"]]
    closing = (
        await client.get(
            "/v1/markets",
            params={"closing_before": (datetime.now(UTC) + timedelta(days=7)).isoformat()},
        )
    ).json()["data"]
    assert [m["id"] for m in closing] == [ids["eth"]]
    by_end = (await client.get("/v1/markets", params={"sort": "end_date", "limit": 1})).json()
    assert by_end["data"][0]["id"] == ids["eth"]
    second = (
        await client.get(
            "/v1/markets", params={"sort": "end_date", "limit": 1, "cursor": by_end["next_cursor"]}
        )
    ).json()
    assert second["data"][0]["id"] == ids["btc"]
    floor = (await client.get("/v1/markets", params={"min_volume": 25_000})).json()["data"]
    assert {m["id"] for m in floor} == {ids["btc"], ids["fed"]}
    crypto = (
        await client.get("/v1/markets", params={"category": "crypto", "status": "open"})
    ).json()
    assert {m["id"] for m in crypto["data"]} == {ids["btc"], ids["eth"]}
    event = (await client.get("/v1/markets", params={"event": "ev-btc"})).json()["data"]
    assert [m["id"] for m in event] == [ids["btc"]]
    by_change = await client.get("/v1/markets", params={"sort": "change_24h"})
    assert by_change.status_code == 200 and len(by_change.json()["data"]) == 4


async def test_detail_outcomes_quote_and_events(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ids = await _seed_world(conn)
    detail = (await client.get("/v1/markets/bitcoin-200k")).json()
    assert detail["id"] == ids["btc"] and detail["event_title"] == "Bitcoin price"
    outcomes = (await client.get(f"/v1/markets/{ids['btc']}/outcomes")).json()
    assert [o["label"] for o in outcomes] == ["Yes", "No"]
    quote = (await client.get(f"/v1/markets/{ids['old']}/quote")).json()
    assert quote["resolution"]["winning_outcome"] == 1
    events = (await client.get("/v1/events")).json()["data"]
    assert [e["native_id"] for e in events] == ["ev-btc"] and events[0]["market_count"] == 1
    event = (await client.get(f"/v1/events/{events[0]['id']}")).json()
    assert [m["id"] for m in event["markets"]] == [ids["btc"]]
    assert (await client.get("/v1/events/polymarket:ev-btc")).status_code == 200
    assert_error(await client.get("/v1/events/999999"), 404, "not_found")


async def test_search_ranks_by_relevance_then_volume(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ids = await _seed_world(conn)
    await search_words.keep(conn)
    hits = (await client.get("/v1/search", params={"q": "bitcoin"})).json()["data"]
    # Both open Bitcoin markets match; the one with "Bitcoin" in a stronger position and more
    # volume first; the resolved one is left out by the default status filter.
    assert [h["id"] for h in hits] == [ids["btc"], ids["eth"]]
    assert all(h["rank"] > 0 for h in hits)
    every = (await client.get("/v1/search", params={"q": "bitcoin", "status": "any"})).json()
    assert ids["old"] in [h["id"] for h in every["data"]]
    paged = (await client.get("/v1/search", params={"q": "bitcoin", "limit": 1})).json()
    nxt = (
        await client.get(
            "/v1/search", params={"q": "bitcoin", "limit": 1, "cursor": paged["next_cursor"]}
        )
    ).json()
    assert [h["id"] for h in paged["data"] + nxt["data"]] == [ids["btc"], ids["eth"]]
    assert (await client.get("/v1/search", params={"q": "zzzqqq"})).json()["data"] == []


async def test_search_finds_a_common_and_a_rare_word_by_their_own_paths(
    client: httpx.AsyncClient, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small bounds, so that 40 markets make a common word: its candidates are the first
    # 25 of its list (question first, busiest first), which hold the page's end; a
    # rarer word's list holds all of its markets (and the text index is read too, as
    # they are fewer than the page's end).
    monkeypatch.setattr(catalog, "SEARCH_WORD_WALK", 25)
    monkeypatch.setattr(catalog, "SEARCH_CANDIDATES", 5)
    ids = {}
    for k in range(40):  # volume 40,000 down to 1,000: busiest first
        title = "January markets" if k == 20 else None  # a stronger match, 21st busiest
        ids[k] = await seed_market(
            conn,
            SeedMarket(
                native_id=f"jan-{k}",
                question=f"Will the index close higher in January, case {k}?",
                event_native_id="ev-jan" if title else None,
                event_title=title,
                volume_24h=1000.0 * (40 - k),
            ),
        )
    rare = await seed_market(
        conn, SeedMarket(native_id="rare", question="Will Ostrava win the cup?", volume_24h=1.0)
    )
    await search_words.keep(conn)
    every = [
        r["id"]
        for r in await conn.fetch(
            "SELECT m.id FROM silver.markets m, websearch_to_tsquery('english', 'january') q"
            " WHERE m.search_vector @@ q"
            " ORDER BY ts_rank(m.search_vector, q) DESC, m.volume_24h DESC, m.id"
        )
    ]
    assert every[:4] == [ids[20], ids[0], ids[1], ids[2]]  # the stronger match ranks first
    first = (await client.get("/v1/search", params={"q": "January", "limit": 3})).json()
    nxt = (
        await client.get(
            "/v1/search", params={"q": "January", "limit": 3, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [h["id"] for h in first["data"] + nxt["data"]] == every[:6]
    # the rare word's one market is the least busy of all: its own list's only entry
    hits = (await client.get("/v1/search", params={"q": "ostrava"})).json()["data"]
    assert [h["id"] for h in hits] == [rare]
    both = (await client.get("/v1/search", params={"q": "january cup"})).json()["data"]
    assert both == []


async def test_history_trades_book_and_price_at(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ids = await _seed_world(conn)
    mid = ids["btc"]
    outcome_id = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", mid
    )
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for parent in (partitions.PRICE_HISTORY, partitions.TRADES, partitions.BOOKS):
        await partitions.ensure(conn, parent, [base])  # rows written straight in below
    for minute, price in enumerate([0.40, 0.45, 0.42, 0.50]):
        await conn.execute(
            "INSERT INTO silver.price_history (outcome_id, ts, price) VALUES ($1, $2, $3)",
            outcome_id,
            base + timedelta(minutes=minute * 30),
            Decimal(str(price)),
        )
    for n in range(3):
        await conn.execute(
            "INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size, side,"
            " executed_at) VALUES ('polymarket', $1, $2, $3, $4, 10, 'buy', $5)",
            mid,
            outcome_id,
            f"t{n}",
            Decimal("0.5") + Decimal(n) / 100,
            base + timedelta(hours=3, minutes=n),
        )
    await conn.execute(
        "INSERT INTO silver.order_book_snapshots (market_id, outcome_id, observed_at, fetched_at,"
        " best_bid, best_ask, bids, asks) VALUES ($1, $2, $3, $3, 0.49, 0.51, $4, $5)",
        mid,
        outcome_id,
        base + timedelta(hours=1),
        [["0.49", "100"], ["0.48", "50"]],
        [["0.51", "80"]],
    )
    # hourly candles are read from the rollup, which the worker runs on its cadence
    assert (await rollup(conn, Settings(), now=base + timedelta(hours=6), force=True)).ran
    hist = (
        await client.get(
            f"/v1/markets/{mid}/history",
            params={
                "interval": "1h",
                "start": "2026-01-01T00:00:00Z",
                "end": "2026-01-01T02:00:00Z",
            },
        )
    ).json()
    assert [(c["open"], c["high"], c["low"], c["close"]) for c in hist["candles"]] == [
        (0.40, 0.45, 0.40, 0.45),
        (0.42, 0.50, 0.42, 0.50),
    ]
    first = (await client.get(f"/v1/markets/{mid}/trades", params={"limit": 2})).json()
    assert [t["trade_key"] for t in first["data"]] == ["t2", "t1"]
    rest = (
        await client.get(
            f"/v1/markets/{mid}/trades", params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [t["trade_key"] for t in rest["data"]] == ["t0"] and rest["next_cursor"] is None
    book = (await client.get(f"/v1/markets/{mid}/book")).json()
    assert book["books"][0]["bids"][0] == {"price": 0.49, "size": 100.0}
    before = (
        await client.get(f"/v1/markets/{mid}/book", params={"at": "2026-01-01T00:30:00Z"})
    ).json()
    assert before["books"] == []
    at = (
        await client.get(f"/v1/markets/{mid}/price/at", params={"at": "2026-01-01T01:10:00Z"})
    ).json()
    assert at["outcomes"][0] == {
        "outcome": 0,
        "price": 0.42,
        "ts": "2026-01-01T01:00:00+00:00",
        "source": "history",
    }
    later = (
        await client.get(f"/v1/markets/{mid}/price/at", params={"at": "2026-01-01T05:00:00Z"})
    ).json()
    # history first, even when a trade is later
    assert later["outcomes"][0]["source"] == "history" and later["outcomes"][0]["price"] == 0.5
    # an outcome without history answers from its trades
    other = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 1", mid
    )
    await conn.execute(
        "INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size, side,"
        " executed_at) VALUES ('polymarket', $1, $2, 'n0', 0.47, 5, 'buy', $3)",
        mid,
        other,
        base + timedelta(hours=2),
    )
    later = (
        await client.get(f"/v1/markets/{mid}/price/at", params={"at": "2026-01-01T05:00:00Z"})
    ).json()
    assert later["outcomes"][1] == {
        "outcome": 1,
        "price": 0.47,
        "ts": "2026-01-01T02:00:00+00:00",
        "source": "trades",
    }


async def test_top_markets_and_venues(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    ids = await _seed_world(conn)
    await refresh(
        conn,
        GoldConfig(
            venues=("polymarket", "kalshi"),
            top_n={"polymarket": 300, "kalshi": 150},
            floors={"polymarket": 10_000.0, "kalshi": 10_000.0},
        ),
        now=datetime.now(UTC),
    )
    top = (await client.get("/v1/top")).json()
    assert [m["id"] for m in top["venues"]["polymarket"]] == [ids["btc"], ids["eth"]]
    assert [m["id"] for m in top["venues"]["kalshi"]] == [ids["fed"]]
    one = (await client.get("/v1/top", params={"venue": "polymarket", "n": 1})).json()
    assert [m["id"] for m in one["venues"]["polymarket"]] == [ids["btc"]]
    high = (await client.get("/v1/top", params={"min_volume": 40_000})).json()
    assert [m["id"] for v in high["venues"].values() for m in v] == [ids["btc"]]
    venues = (await client.get("/v1/venues")).json()
    poly = next(v for v in venues["venues"] if v["name"] == "polymarket")
    assert poly["markets"] == 3 and poly["open_markets"] == 2
    assert venues["tiers"]["T2a"] == 2


async def test_legacy_polymarket_price_route(
    client: httpx.AsyncClient, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    await _seed_world(conn)
    cached = (
        await client.get("/api/polymarket/price", params={"conditionId": COND, "maxAgeSeconds": 60})
    ).json()
    assert cached["success"] is True
    market = cached["market"]
    assert market["conditionId"] == COND and market["outcomes"] == ["Yes", "No"]
    assert market["outcomePrices"] == ["0.6", "0.4"] and market["cached"] is True
    assert market["closed"] is False and refresher.calls == []
    refreshed = (await client.get("/api/polymarket/price", params={"conditionId": COND})).json()
    assert refreshed["market"]["cached"] is False and refreshed["market"]["outcomePrices"] == [
        "0.7",
        "0.3",
    ]
    assert_error(await client.get("/api/polymarket/price"), 422)


async def test_admin_refresh_requires_a_key(
    client: httpx.AsyncClient, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    ids = await _seed_world(conn)
    body = {"venue": "kalshi", "scope": "quotes"}
    assert_error(await client.post("/v1/admin/refresh", json=body), 401, "unauthorized")
    wrong = await client.post("/v1/admin/refresh", json=body, headers={"X-API-Key": "nope"})
    assert_error(wrong, 401)
    ok = await client.post("/v1/admin/refresh", json=body, headers={"X-API-Key": ADMIN_KEY})
    assert ok.status_code == 200 and ok.json()["refreshed"] == 1
    assert refresher.calls[-1] == ("kalshi", [ids["fed"]])
    stored = await create_key(conn, "ops")
    assert await conn.fetchval("SELECT count(*) FROM ops.api_keys WHERE key_hash = $1", stored) == 0
    by_row = await client.post(
        "/v1/admin/refresh",
        json={"venue": "polymarket", "ids": [COND]},
        headers={"Authorization": f"Bearer {stored}"},
    )
    assert by_row.status_code == 200 and by_row.json()["markets"] == 1
    await conn.execute("UPDATE ops.api_keys SET revoked_at = now()")
    revoked = await client.post(
        "/v1/admin/refresh", json=body, headers={"Authorization": f"Bearer {stored}"}
    )
    assert_error(revoked, 401)


async def test_metrics_expose_routes_tiers_and_joins(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ids = await _seed_world(conn)
    await client.get(f"/v1/markets/{ids['btc']}/price", params={"tier": "T4"})
    text = (await client.get("/metrics")).text
    assert 'predhub_http_requests_total{method="GET",route="/v1/markets/{market_id}/price"' in text
    assert 'predhub_service_answers_total{cache="hit",tier="T4"}' in text
    assert "predhub_service_singleflight_joins_total" in text


@pytest.mark.parametrize("path", ["/", "/docs", "/openapi.json"])
async def test_dashboard_and_docs_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200


async def test_the_venue_parameter_lists_the_registry(client: httpx.AsyncClient) -> None:
    """Every venue filter takes exactly the registry's names: OpenAPI lists them,
    anything else is a 422 that says which names are allowed."""
    names = list(venue_names())
    schema = (await client.get("/openapi.json")).json()
    for path in ("/v1/markets", "/v1/events", "/v1/search", "/v1/top"):
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        ref = params["venue"]["schema"]["anyOf"][0]["$ref"].rsplit("/", 1)[-1]
        assert schema["components"]["schemas"][ref]["enum"] == names, path
    for path in ("/v1/markets", "/v1/events", "/v1/top"):
        response = await client.get(path, params={"venue": "foo"})
        assert_error(response, 422)
        assert "kalshi" in response.text
    for name in names:  # each venue has its own top-N setting
        assert (await client.get("/v1/top", params={"venue": name})).status_code == 200


async def test_a_bug_while_asking_the_venue_for_a_never_seen_id_is_a_500(
    app: FastAPI, refresher: WritingRefresher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No stored row to fall back on: a bug is an internal error, not a 'not found'."""

    async def broken(venue: str, key: str) -> list[int]:
        return [1 // 0]

    monkeypatch.setattr(refresher, "discover", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/markets/" + "0x" + "ab" * 32 + "/price")
    assert_error(response, 500, "internal_error")
