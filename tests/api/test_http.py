"""HTTP behaviour on the real app: compression, ETag/304, Cache-Control, HEAD, dates,
the legacy batch route and the documented WebSocket protocol."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import brotli
import httpx
import jsonschema
import orjson
import websockets
from api_support import assert_error

from predhub.api.http import choose_encoding, etag_matches
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market, write_quote

COND = "0x" + "ab" * 32


async def _many(conn: asyncpg.Connection, n: int) -> list[int]:
    return [
        await seed_market(
            conn,
            SeedMarket(
                native_id=f"m{i}",
                question=f"Will market number {i} resolve yes?",
                volume_24h=1000 + i,
                synced_ago=1,
            ),
        )
        for i in range(n)
    ]


def test_encoding_negotiation() -> None:
    assert choose_encoding(b"gzip, deflate, br") == b"br"
    assert choose_encoding(b"gzip;q=1.0, br;q=0") == b"gzip"
    assert choose_encoding(b"identity") is None
    assert choose_encoding(None) is None
    assert choose_encoding(b"*") == b"br"
    assert etag_matches(b'"x", W/"abc"', b'W/"abc"')
    assert not etag_matches(b'W/"abd"', b'W/"abc"')


async def test_large_answers_are_compressed_small_ones_are_not(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    await _many(conn, 12)
    plain = await client.get("/v1/markets?limit=12", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert len(plain.content) > 1024
    gz = await client.get("/v1/markets?limit=12", headers={"accept-encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip"
    assert gz.headers["vary"] == "Accept-Encoding"
    assert int(gz.headers["content-length"]) < len(plain.content)
    assert orjson.loads(gzip.decompress(await _raw(client, "/v1/markets?limit=12", "gzip"))) == (
        plain.json()
    )
    br = await _raw(client, "/v1/markets?limit=12", "gzip, br")
    assert orjson.loads(brotli.decompress(br)) == plain.json()
    small = await client.get("/healthz", headers={"accept-encoding": "gzip, br"})
    assert "content-encoding" not in small.headers


async def _raw(client: httpx.AsyncClient, url: str, encoding: str) -> bytes:
    request = client.build_request("GET", url, headers={"accept-encoding": encoding})
    response = await client.send(request, stream=True)
    try:
        return b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()


async def test_etag_and_304_follow_changes(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    ids = await _many(conn, 2)
    first = await client.get("/v1/markets")
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "no-cache"
    again = await client.get("/v1/markets", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    await conn.execute("UPDATE silver.markets SET question = 'Changed?' WHERE id = $1", ids[0])
    for _ in range(100):  # the change reaches the snapshot cache through a notification
        changed = await client.get("/v1/markets", headers={"if-none-match": etag})
        if changed.status_code == 200:
            break
        await asyncio.sleep(0.02)
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_price_etag_ignores_age_and_cache_control_follows_the_tier(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="p", synced_ago=10))
    url = f"/v1/markets/{mid}/price"
    full = await client.get(url, params={"tier": "T3"})  # the full route fills the cache
    fast = await client.get(url, params={"tier": "T3"})  # the cached fast path
    assert fast.json()["cache"] == "hit"
    assert full.headers["etag"] == fast.headers["etag"]
    for answer in (full, fast):
        max_age = int(answer.headers["cache-control"].removeprefix("max-age="))
        assert 0 < max_age <= 120 - 10  # T3 is 120 s; the row is already 10 s old
    for tag in (full.headers["etag"], fast.headers["etag"]):
        not_modified = await client.get(url, params={"tier": "T3"}, headers={"if-none-match": tag})
        assert not_modified.status_code == 304
    await write_quote(conn, mid, [0.31, 0.69])
    for _ in range(100):
        moved = await client.get(
            url, params={"tier": "T3"}, headers={"if-none-match": fast.headers["etag"]}
        )
        if moved.status_code == 200:
            break
        await asyncio.sleep(0.02)
    assert moved.status_code == 200 and moved.json()["outcomes"][0]["price"] == 0.31


async def test_head_wherever_get_is(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    mid = (await _many(conn, 1))[0]
    for url in ("/v1/markets", f"/v1/markets/{mid}", f"/v1/markets/{mid}/price", "/healthz"):
        before = await client.get(url, headers={"accept-encoding": "identity"})
        head = await client.head(url, headers={"accept-encoding": "identity"})
        after = await client.get(url, headers={"accept-encoding": "identity"})
        assert head.status_code == 200, url
        assert head.content == b""
        assert head.headers["content-type"] == before.headers["content-type"]
        # a price's age may gain a digit between two answers: HEAD's length is
        # that of a GET made just before or just after it
        lengths = {before.headers["content-length"], after.headers["content-length"]}
        assert head.headers["content-length"] in lengths, url
    assert (await client.head("/v1/markets/999999")).status_code == 404
    assert (await client.head("/v1/prices")).status_code == 405


async def test_dates_as_people_type_them(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    soon = datetime.now(UTC) + timedelta(days=3)
    await seed_market(conn, SeedMarket(native_id="soon", end_at=soon, synced_ago=1))
    await seed_market(
        conn, SeedMarket(native_id="late", end_at=soon + timedelta(days=400), synced_ago=1)
    )
    day = (soon + timedelta(days=2)).date().isoformat()
    for form in (day, day + "T00:00", day + "T00:00:00Z", day + " 00:00:00+00:00"):
        found = await client.get("/v1/markets", params={"closing_before": form})
        assert found.status_code == 200, found.text
        assert [m["native_id"] for m in found.json()["data"]] == ["soon"]
    bad = await client.get("/v1/markets", params={"closing_before": "next tuesday"})
    assert_error(bad, 422, "invalid_request")
    assert "ISO date" in bad.json()["error"]["message"]
    assert_error(await client.get("/v1/markets", params={"closing_before": "1900-01-01"}), 422)


async def test_legacy_batch_route_answers_the_single_routes_shape(
    client: httpx.AsyncClient, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    await seed_market(conn, SeedMarket(native_id="c", condition_id=COND, synced_ago=5))
    single = await client.get(
        "/api/polymarket/price", params={"conditionId": COND, "maxAgeSeconds": 60}
    )
    batch = await client.post(
        "/api/markets/prices", json={"conditionIds": [COND, "0x" + "ef" * 32], "tier": "T3"}
    )
    assert batch.status_code == 200, batch.text
    body = batch.json()
    assert body["success"] is True
    assert set(body["markets"]) == {COND}
    assert body["markets"][COND] == single.json()["market"]
    assert body["errors"]["0x" + "ef" * 32]["code"]
    by_age = await client.post(
        "/api/markets/prices", json={"conditionIds": [COND], "maxAgeSeconds": 600}
    )
    assert by_age.json()["markets"][COND]["outcomePrices"] == ["0.6", "0.4"]
    # Neither tier nor maxAgeSeconds: what the single route does without maxAgeSeconds
    # (refresh), so a batch of N ids answers as N single calls would.
    refresher.calls.clear()
    plain_single = await client.get("/api/polymarket/price", params={"conditionId": COND})
    plain_batch = await client.post("/api/markets/prices", json={"conditionIds": [COND]})
    assert plain_single.json()["market"]["cached"] is False
    assert plain_batch.json()["markets"][COND]["cached"] is False
    assert len(refresher.calls) == 2  # each one refreshed the market
    tiered = await client.post("/api/markets/prices", json={"conditionIds": [COND], "tier": "T3"})
    assert tiered.json()["markets"][COND]["cached"] is True and len(refresher.calls) == 2
    assert_error(await client.post("/api/markets/prices", json={"conditionIds": []}), 422)
    assert_error(
        await client.post("/api/markets/prices", json={"conditionIds": [COND], "tier": "T9"}),
        400,
        "unknown_tier",
    )


async def test_real_websocket_messages_match_the_asyncapi_document(
    live_url: str, conn: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient() as http:
        document = (await http.get(f"http://{live_url}/asyncapi.json")).json()
    assert document["channels"]["feed"]["address"] == "/v1/ws"
    schemas = document["components"]["schemas"]

    def check(kind: str, message: dict[str, Any]) -> None:
        schema = {**schemas[kind], "components": {"schemas": schemas}}
        jsonschema.validate(message, schema)

    check("Subscribe", {"op": "subscribe", "markets": ["1", 2]})
    try:
        check("Subscribe", {"op": "subscribe", "markets": "1"})
        raise AssertionError("a malformed message passed the schema")
    except jsonschema.ValidationError:
        pass
    names = {"subscribed": "Subscribed", "quote": "Quote", "trades": "Trades", "pong": "Pong"}
    names |= {"error": "ProtocolError", "unsubscribed": "Unsubscribed"}
    market_id = await seed_market(conn, SeedMarket(synced_ago=1))
    seen: set[str] = set()
    async with websockets.connect(f"ws://{live_url}/v1/ws") as ws:

        async def until(kind: str) -> None:
            async with asyncio.timeout(5):
                while True:
                    message = orjson.loads(await ws.recv())
                    if message["type"] in names:
                        check(names[message["type"]], message)
                        seen.add(message["type"])
                    if message["type"] == kind:
                        return

        await ws.send(orjson.dumps({"op": "subscribe", "markets": [str(market_id), "nope-x"]}))
        await until("quote")
        await write_quote(conn, market_id, [0.25, 0.75])
        await until("quote")
        outcome = await conn.fetchval(
            "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", market_id
        )
        await conn.execute(
            "INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size,"
            " executed_at) VALUES ('polymarket', $1, $2, 'k1', $3, 5, now())",
            market_id,
            outcome,
            Decimal("0.26"),
        )
        await conn.execute("SELECT pg_notify('predhub_trades', $1)", str(market_id))
        await until("trades")
        await ws.send(orjson.dumps({"op": "ping"}))
        await until("pong")
        await ws.send(orjson.dumps({"op": "dance"}))
        await until("error")
        await ws.send(orjson.dumps({"op": "unsubscribe", "markets": [str(market_id)]}))
        await until("unsubscribed")
    assert seen == set(names)
