"""The API's security baseline: CORS, request size limits, offline docs, injection strings."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from api_support import ADMIN_KEY, assert_error, make_settings, serve_live

from predhub.api.app import create_app
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market

DASHBOARD = "https://dash.example.org"


async def _app_client(
    db_url: str, refresher: WritingRefresher, **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(make_settings(**overrides), database_url=db_url, refresher=refresher)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type, x-api-key",
    }


# --- CORS -------------------------------------------------------------------------------


async def test_cors_is_off_by_default(client: httpx.AsyncClient) -> None:
    response = await client.options("/v1/prices", headers=_preflight(DASHBOARD))
    assert "access-control-allow-origin" not in response.headers
    simple = await client.get("/healthz", headers={"Origin": DASHBOARD})
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_allows_the_listed_origins_only(
    db_url: str, refresher: WritingRefresher
) -> None:
    async for c in _app_client(
        db_url, refresher, cors_allow_origins=f"{DASHBOARD}, http://localhost:3000"
    ):
        allowed = await c.options("/v1/admin/refresh", headers=_preflight(DASHBOARD))
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["access-control-allow-origin"] == DASHBOARD
        assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
        assert "POST" in allowed.headers["access-control-allow-methods"]

        refused = await c.options("/v1/prices", headers=_preflight("https://evil.example"))
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        other = await c.options("/v1/prices", headers=_preflight(DASHBOARD, "DELETE"))
        assert other.status_code == 400

        # Answers, refusals included, carry the header for a listed origin only.
        unauthorized = await c.post(
            "/v1/admin/refresh", json={"venue": "kalshi"}, headers={"Origin": DASHBOARD}
        )
        assert_error(unauthorized, 401)
        assert unauthorized.headers["access-control-allow-origin"] == DASHBOARD
        foreign = await c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in foreign.headers


def test_cors_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", f" {DASHBOARD} ,,http://localhost:3000")
    settings = make_settings()
    assert settings.cors_origins == [DASHBOARD, "http://localhost:3000"]
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "")
    assert make_settings().cors_origins == []


# --- size limits ----------------------------------------------------------------------------


async def test_body_and_header_limits_over_http(
    db_url: str, refresher: WritingRefresher, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="small"))
    application = create_app(
        make_settings(api_max_body_bytes=2000, api_max_header_bytes=4096),
        database_url=db_url,
        refresher=refresher,
    )
    small = b'{"ids": ["%d"]}' % mid
    big = b'{"ids": ["' + b"1" * 3000 + b'"]}'

    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        for i in range(0, len(body), 500):
            yield body[i : i + 500]

    json_type = {"content-type": "application/json"}
    async with serve_live(application) as url, httpx.AsyncClient(base_url=f"http://{url}") as c:
        assert (await c.post("/v1/prices", content=small, headers=json_type)).status_code == 200
        assert_error(
            await c.post("/v1/prices", content=big, headers=json_type), 413, "payload_too_large"
        )
        # No Content-Length: the bytes are counted as they arrive.
        chunked = await c.post("/v1/prices", content=chunks(big), headers=json_type)
        assert "content-length" not in chunked.request.headers
        assert_error(chunked, 413, "payload_too_large")
        fine = await c.post("/v1/prices", content=chunks(small), headers=json_type)
        assert fine.status_code == 200, fine.text

        assert (await c.get("/healthz", headers={"x-note": "a" * 3000})).status_code == 200
        for headers in ({"x-note": "a" * 5000}, {f"x-h{i}": "a" * 100 for i in range(60)}):
            response = await c.get("/healthz", headers=headers)
            assert_error(response, 431, "headers_too_large")
            assert response.json()["error"]["details"]["limit"] == 4096
        # Far past the limit: still the app's JSON answer (httptools buffers any size).
        assert_error(await c.get("/healthz", headers={"x-note": "a" * 200_000}), 431)


# --- offline docs -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_load_only_same_origin_assets(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "cdn." not in html and "googleapis" not in html
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    refs += re.findall(r"""url:\s*['"]([^'"]+)['"]""", html)
    refs += re.findall(r"""spec-url=["']([^"']+)["']""", html)
    assert any(r.endswith(".js") for r in refs), refs
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        asset = await client.get(ref)
        assert asset.status_code == 200, ref
        assert asset.content, ref


# --- injection strings ------------------------------------------------------------------------

NASTY = [
    "'; DROP TABLE silver.markets; --",
    "1 OR 1=1",
    "1' OR '1'='1",
    '" OR ""="',
    "\\",
    "\\'; DROP TABLE silver.events; --",
    "\x00",
    "a\x00b",
    "x" * 5000,
    "9" * 40,
    "-1",
    "1e309",
    "NaN",
    "%",
    "_%",
    "$1",
    "polymarket:' OR 1=1 --",
    "kalshi:%",
    "ünïcødé ✓ 😀",
    "²",
    "٣",
    "\u202e\ufeff",
    "0x" + "'" * 64,
]
TABLE_COUNTS = """
SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
WHERE table_schema IN ('silver', 'bronze', 'ops') AND table_type = 'BASE TABLE' ORDER BY 1
"""
CHECKED = ("silver.markets", "silver.events", "silver.outcomes", "ops.api_keys")


async def _snapshot(conn: asyncpg.Connection) -> dict[str, int]:
    tables = [r["name"] for r in await conn.fetch(TABLE_COUNTS)]
    counts = {t: -1 for t in tables}
    for table in CHECKED:
        counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    return counts


def _sample(param: dict[str, Any], seeded: dict[str, str]) -> str:
    """A valid value for the parameters around the one under attack."""
    return seeded.get(param["name"], "1")


async def test_injection_strings_reach_no_sql(
    client: httpx.AsyncClient, conn: asyncpg.Connection, refresher: WritingRefresher
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="inj", event_native_id="ev-inj", slug="inj"))
    await conn.execute("INSERT INTO ops.api_keys (name, key_hash) VALUES ('k', 'h')")
    before = await _snapshot(conn)
    assert before["silver.markets"] == 1
    seeded = {"market_id": str(mid), "event_id": "polymarket:ev-inj"}
    schema = (await client.get("/openapi.json")).json()
    answered: list[tuple[str, int]] = []

    async def send(method: str, path: str, **kwargs: Any) -> None:
        response = await client.request(method, path, **kwargs)
        assert response.status_code < 500, (method, path, kwargs, response.text)
        answered.append((path, response.status_code))

    for template, operations in schema["paths"].items():
        for method, op in operations.items():
            params = [p for p in op.get("parameters", []) if p["in"] in ("path", "query")]
            for target in params:
                for value in NASTY:
                    path = template
                    query: dict[str, str] = {}
                    for p in params:
                        chosen = value if p is target else _sample(p, seeded)
                        if p["in"] == "path":
                            path = path.replace("{" + p["name"] + "}", quote(chosen, safe=""))
                        elif p is target or p.get("required"):
                            query[p["name"]] = chosen
                    await send(method.upper(), path, params=query, headers={"X-API-Key": ADMIN_KEY})
    for value in NASTY:
        await send("POST", "/v1/prices", json={"ids": [value, str(mid)]})
        await send("POST", "/v1/prices", json={"ids": [str(mid)], "tier": value})
        await send(
            "POST",
            "/v1/admin/refresh",
            json={"venue": "polymarket", "ids": [value]},
            headers={"X-API-Key": ADMIN_KEY},
        )
        await send("POST", "/v1/admin/refresh", json={"venue": value})
    routes = {path for path, _ in answered}
    assert len(answered) > 300 and any("/v1/events/" in r for r in routes)
    assert await _snapshot(conn) == before
