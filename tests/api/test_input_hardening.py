"""Ids, batch bodies, admin outcomes and admin authentication on bad input: 4xx, never 500."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from api_support import ADMIN_KEY, assert_error

from predhub.service.ids import ascii_int
from predhub.service.notify import parse_ids
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market

ADMIN = {"X-API-Key": ADMIN_KEY}
# Characters `str.isdigit()` accepts and `int()` rejects (², ①) or reads as another number (٣).
UNICODE_DIGITS = ["%C2%B2", "%E2%91%A0", "%D9%A3", "%EF%BC%93", "1%C2%B2"]


async def _event_number_three(conn: asyncpg.Connection) -> int:
    """A market in an event whose id is 3, the number '٣' (Arabic-Indic three) spells."""
    await conn.execute(
        "INSERT INTO silver.events (id, venue, native_id, title) OVERRIDING SYSTEM VALUE "
        "VALUES (3, 'polymarket', 'ev-three', 'Event three')"
    )
    return await seed_market(conn, SeedMarket(native_id="in-three", event_native_id="ev-three"))


@pytest.mark.parametrize("raw", UNICODE_DIGITS)
async def test_unicode_digits_are_no_event_id(
    client: httpx.AsyncClient, conn: asyncpg.Connection, raw: str
) -> None:
    await _event_number_three(conn)
    assert_error(await client.get(f"/v1/events/{raw}"), 404, "not_found")
    listed = await client.get(f"/v1/markets?event={raw}")
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"] == []


async def test_ascii_event_ids_still_work(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    market = await _event_number_three(conn)
    assert (await client.get("/v1/events/3")).json()["id"] == 3
    listed = (await client.get("/v1/markets?event=3")).json()["data"]
    assert [m["id"] for m in listed] == [market]


def test_ascii_int_takes_ascii_digits_only() -> None:
    assert ascii_int("0042") == 42
    assert ascii_int(b"17") == 17
    for bad in ("²", "①", "٣", "３", "", "-1", "1.0", " 1", "1" * 19, b"\xd9\xa3"):
        assert ascii_int(bad) is None, bad
    assert parse_ids("1, ², ٣ 4") == [1, 4]


async def test_batch_prices_take_integer_ids(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="int-id"))
    response = await client.post("/v1/prices", json={"ids": [mid, "polymarket:int-id", 999999]})
    assert response.status_code == 200, response.text
    prices = response.json()["prices"]
    assert prices[str(mid)]["id"] == mid
    assert prices["polymarket:int-id"]["id"] == mid
    assert prices["999999"]["error"]["code"] == "not_found"
    for bad in ([True], [1.5], [-1], [None], [[1]]):
        assert_error(await client.post("/v1/prices", json={"ids": bad}), 422, "invalid_request")


async def test_admin_refresh_reports_every_id(
    client: httpx.AsyncClient, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    poly = await seed_market(conn, SeedMarket(native_id="p1"))
    kalshi = await seed_market(conn, SeedMarket(venue="kalshi", native_id="K1", ticker="K1"))
    body = {"venue": "polymarket", "ids": [poly, "kalshi:K1", "polymarket:nope", "nasdaq:X"]}
    response = await client.post("/v1/admin/refresh", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert refresher.calls == [("polymarket", [poly])]
    assert (doc["markets"], doc["refreshed"]) == (1, 1)
    outcomes = doc["outcomes"]
    assert set(outcomes) == {str(poly), "kalshi:K1", "polymarket:nope", "nasdaq:X"}
    assert outcomes[str(poly)] == {"status": "refreshed", "market_id": poly, "reason": None}
    assert outcomes["kalshi:K1"]["status"] == "wrong_venue"
    assert outcomes["kalshi:K1"]["market_id"] == kalshi
    assert "kalshi" in outcomes["kalshi:K1"]["reason"]
    assert outcomes["polymarket:nope"]["status"] == "not_found"
    assert outcomes["nasdaq:X"]["status"] == "invalid" and outcomes["nasdaq:X"]["reason"]

    refresher.fail = "503 Service Unavailable"
    failed = (await client.post("/v1/admin/refresh", json=body, headers=ADMIN)).json()
    assert failed["outcomes"][str(poly)]["status"] == "failed"
    assert "503" in failed["outcomes"][str(poly)]["reason"]
    assert failed["outcomes"]["kalshi:K1"]["status"] == "wrong_venue"


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {}),
        (b'{"venue": "nasdaq"}', {}),
        (b'{"venue": "kalshi"}', {"X-API-Key": "wrong"}),
        (b"[]", {"Authorization": "Bearer wrong"}),
        (b'{"venue": "kalshi", "ids": "x"}', {"X-API-Key": b"\xc3\xa9" * 400}),
    ],
)
async def test_admin_routes_authenticate_before_validating(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str | bytes]
) -> None:
    schema = (await client.get("/openapi.json")).json()
    admin_paths = [p for p in schema["paths"] if p.startswith("/v1/admin")]
    assert admin_paths
    for path in admin_paths:
        for method in schema["paths"][path]:
            response = await client.request(
                method,
                path,
                content=content,
                headers={"content-type": b"application/json", **headers},
            )
            assert_error(response, 401, "unauthorized")
    # With the key, the same bad bodies are validation errors.
    assert_error(await client.post("/v1/admin/refresh", content=b"{not json", headers=ADMIN), 422)
