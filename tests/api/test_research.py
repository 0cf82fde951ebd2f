"""The research store over the real app: research, analyses, conclusions, expiry and archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from api_support import ADMIN_KEY, assert_error

from predhub.scheduler.housekeeping import research_upkeep
from predhub.service.testing import SeedMarket, seed_market

ADMIN = {"X-API-Key": ADMIN_KEY}


async def writer(client: httpx.AsyncClient) -> dict[str, str]:
    made = await client.post(
        "/v1/admin/keys", json={"account": "analyst", "level": "vip"}, headers=ADMIN
    )
    return {"X-API-Key": made.json()["key"]}


async def counts(conn: asyncpg.Connection) -> tuple[int, int, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM app.research) r, (SELECT count(*) FROM app.analysis) a,"
        " (SELECT count(*) FROM app.conclusions) c"
    )
    assert row is not None
    return int(row["r"]), int(row["a"]), int(row["c"])


async def test_research_is_stored_listed_filtered_and_expires_with_a_410(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="rs", slug="rain-slug"))
    key = await writer(client)
    url = f"/v1/markets/{mid}/research"
    current = await client.post(
        url,
        json={"research_data": "a", "sources": [{"url": "https://a.example"}], "ttl_seconds": 3600},
        headers=key,
    )
    assert current.status_code == 201
    body = current.json()
    assert body["market_id"] == mid and body["sources"] == [{"url": "https://a.example"}]
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    old = await client.post(
        "/v1/markets/rain-slug/research",  # any id form of the market
        json={"research_data": "b", "research_type": "historical", "expires_at": past},
        headers=key,
    )
    assert old.status_code == 201
    listed = (await client.get(url)).json()
    assert [r["id"] for r in listed["data"]] == [body["id"]] and listed["expired_not_shown"] == 1
    assert (await client.get(url, params={"type": "historical"})).json()["data"] == []
    gone = await client.get(f"/v1/research/{old.json()['id']}")
    assert_error(gone, 410, "expired")
    assert gone.json()["error"]["details"]["expired_at"].startswith(past[:19])
    assert (await client.get(f"/v1/research/{body['id']}")).json()["research_data"] == "a"

    done = await research_upkeep(conn, now=datetime.now(UTC), archive_after_days=30)
    assert done == {"research_expired": 1, "analyses_archived": 0}
    assert_error(await client.get(f"/v1/research/{old.json()['id']}"), 404)
    assert (await client.get(url)).json()["expired_not_shown"] == 0


async def test_bad_research_writes_are_4xx_and_write_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="bad"))
    key = await writer(client)
    unknown = await client.post(
        "/v1/markets/polymarket:never-seen/research", json={"research_data": "x"}, headers=key
    )
    assert_error(unknown, 404, "not_found")
    both = {"research_data": "x", "ttl_seconds": 5, "expires_at": datetime.now(UTC).isoformat()}
    assert_error(await client.post(f"/v1/markets/{mid}/research", json=both, headers=key), 422)
    typed = {"research_data": "x", "research_type": "rumour"}
    assert_error(await client.post(f"/v1/markets/{mid}/research", json=typed, headers=key), 422)
    score = {"query_text": "q", "confidence_score": 1.5}
    assert_error(await client.post(f"/v1/markets/{mid}/analyses", json=score, headers=key), 422)
    assert_error(await client.get("/v1/analyses/not-a-uuid"), 422)
    assert await counts(conn) == (0, 0, 0)


async def test_analyses_conclusions_and_the_archive(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="an"))
    other = await seed_market(conn, SeedMarket(native_id="an2"))
    key = await writer(client)
    research = await client.post(
        f"/v1/markets/{other}/research", json={"research_data": "r"}, headers=key
    )
    wrong = await client.post(
        f"/v1/markets/{mid}/analyses",
        json={"query_text": "q", "research_id": research.json()["id"]},
        headers=key,
    )
    assert_error(wrong, 400)
    assert await counts(conn) == (1, 0, 0)

    made = await client.post(
        f"/v1/markets/{mid}/analyses",
        json={
            "query_text": "Will it rain?",
            "analysis_result": {"steps": ["a", "b"]},
            "confidence_score": 0.73,
            "recommendation": "BUY_YES",
            "processing_time_ms": 1200,
            "llm_tokens_used": 3400,
            "conclusion": {"conclusion": "likely", "sentiment": "bullish"},
        },
        headers=key,
    )
    assert made.status_code == 201, made.text
    analysis = made.json()
    assert analysis["conclusion"]["sentiment"] == "bullish"
    second = await client.post(
        f"/v1/analyses/{analysis['id']}/conclusion", json={"conclusion": "again"}, headers=key
    )
    assert_error(second, 409, "conclusion_exists")
    hold = await client.post(
        f"/v1/markets/{mid}/analyses",
        json={"query_text": "q2", "recommendation": "HOLD"},
        headers=key,
    )
    hold_id = hold.json()["id"]
    assert hold.json()["conclusion"] is None
    concluded = await client.post(
        f"/v1/analyses/{hold_id}/conclusion",
        json={"conclusion": "wait", "sentiment": "neutral", "supporting_data": {"k": 1}},
        headers=key,
    )
    assert concluded.status_code == 201
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(
        await client.post(
            f"/v1/analyses/{missing}/conclusion", json={"conclusion": "x"}, headers=key
        ),
        404,
    )
    assert await counts(conn) == (1, 2, 2)

    listed = (await client.get(f"/v1/markets/{mid}/analyses")).json()["data"]
    assert {a["id"] for a in listed} == {analysis["id"], hold_id}
    buys = (
        await client.get(f"/v1/markets/{mid}/analyses", params={"recommendation": "BUY_YES"})
    ).json()
    assert [a["id"] for a in buys["data"]] == [analysis["id"]]
    one = (await client.get(f"/v1/analyses/{analysis['id']}")).json()
    assert one["confidence_score"] == 0.73 and one["conclusion"]["conclusion"] == "likely"
    assert one["archived"] is False

    await conn.execute(
        "UPDATE app.analysis SET created_at = now() - interval '31 days' WHERE id = $1",
        analysis["id"],
    )
    done = await research_upkeep(conn, now=datetime.now(UTC), archive_after_days=30)
    assert done["analyses_archived"] == 1
    live = (await client.get(f"/v1/markets/{mid}/analyses")).json()["data"]
    assert [a["id"] for a in live] == [hold_id]
    archived = (await client.get(f"/v1/markets/{mid}/analyses", params={"archived": "true"})).json()
    assert [a["id"] for a in archived["data"]] == [analysis["id"]]
    moved = (await client.get(f"/v1/analyses/{analysis['id']}")).json()
    assert moved["archived"] is True and moved["conclusion"]["sentiment"] == "bullish"
    again = await client.post(
        f"/v1/analyses/{analysis['id']}/conclusion", json={"conclusion": "x"}, headers=key
    )
    assert_error(again, 409)
