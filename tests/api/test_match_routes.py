"""The match routes: the review list, a market's matches, decisions and their errors."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from api_support import ADMIN_KEY

from predhub.match.run import MatchConfig, run
from predhub.service.testing import SeedMarket, seed_market
from predhub.venues.descriptor import venue_names

V1, V2 = venue_names()[0], venue_names()[1]
END = datetime(2026, 3, 5, 20, tzinfo=UTC)


async def _matched(conn: asyncpg.Connection) -> tuple[int, int]:
    a = await seed_market(
        conn, SeedMarket(V1, "m-a", "Will Bitcoin be above $91,234 on March 5?", end_at=END)
    )
    await seed_market(
        conn, SeedMarket(V2, "m-b", "BTC price above 91234 on Mar 5, 2026?", end_at=END)
    )
    await seed_market(
        conn, SeedMarket(V2, "m-c", "BTC price above 93515 on Mar 5, 2026?", end_at=END)
    )
    await run(conn, MatchConfig(venues=tuple(venue_names())), now=datetime.now(UTC), full=True)
    match_id = await conn.fetchval("SELECT id FROM gold.market_matches WHERE relation = 'same'")
    return a, int(match_id)


async def test_list_filter_and_page(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    await _matched(conn)
    r = await client.get("/v1/matches", params={"limit": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["data"]) == 1 and body["next_cursor"]
    first = body["data"][0]
    assert first["relation"] == "same" and first["a"]["venue"] and first["b"]["native_id"]
    r2 = await client.get("/v1/matches", params={"limit": 1, "cursor": body["next_cursor"]})
    assert r2.status_code == 200 and r2.json()["data"][0]["id"] != first["id"]
    r3 = await client.get("/v1/matches", params={"min_confidence": 0.99})
    assert r3.json()["data"] == []
    r4 = await client.get("/v1/matches", params={"status": "confirmed", "venue": V1})
    assert r4.status_code == 200 and r4.json()["data"] == []


async def test_bad_list_input_is_a_400_or_422(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/matches", params={"cursor": "nope"})).status_code == 400
    assert (await client.get("/v1/matches", params={"status": "maybe"})).status_code == 422
    assert (await client.get("/v1/matches", params={"min_confidence": 2})).status_code == 422


async def test_a_markets_matches_by_any_id(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    a, _ = await _matched(conn)
    by_ours = (await client.get(f"/v1/markets/{a}/matches")).json()
    by_native = (await client.get(f"/v1/markets/{V1}:m-a/matches")).json()
    assert by_ours == by_native and len(by_ours["data"]) == 2
    assert (await client.get(f"/v1/markets/{V1}:nope/matches")).status_code == 404


async def test_decisions_need_a_key_and_conflict_across_people(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    _, match_id = await _matched(conn)
    url = f"/v1/matches/{match_id}/confirm"
    assert (await client.post(url)).status_code == 401
    assert (await client.post(url, headers={"X-API-Key": "wrong"})).status_code == 401
    key = {"X-API-Key": ADMIN_KEY}
    ok = await client.post(url, json={"decided_by": "alice", "note": "same index"}, headers=key)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "confirmed" and ok.json()["decided_by"] == "alice"
    clash = await client.post(
        f"/v1/matches/{match_id}/reject", json={"decided_by": "bob"}, headers=key
    )
    assert clash.status_code == 409 and "alice" in clash.text
    missing = await client.post("/v1/matches/999999999/reject", headers=key)
    assert missing.status_code == 404 and "no match" in missing.text
    assert (await client.post("/v1/matches/0/reject", headers=key)).status_code == 422
    bad = await client.post(url, json={"decided_by": ""}, headers=key)
    assert bad.status_code == 422


async def test_the_client_lists_and_decides_matches(
    live_url: str, conn: asyncpg.Connection
) -> None:
    from predhub.client import AsyncClient
    from predhub.client.errors import HubClientError

    a, match_id = await _matched(conn)
    async with AsyncClient(f"http://{live_url}", api_key=ADMIN_KEY) as hub:
        listed = await hub.matches(status="proposed")
        assert match_id in [m["id"] for m in listed["data"]]
        assert len((await hub.market_matches(a))["data"]) == 2
        decided = await hub.confirm_match(match_id, decided_by="carol")
        assert decided["status"] == "confirmed" and decided["decided_by"] == "carol"
        with pytest.raises(HubClientError) as clash:
            await hub.reject_match(match_id, decided_by="dave")
        assert clash.value.status == 409
