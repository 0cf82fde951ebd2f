"""The Python client against the real app on a real database (served by uvicorn)."""

from __future__ import annotations

import asyncio
import inspect
import re
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from api_support import ADMIN_KEY, free_port, make_settings
from fastapi import FastAPI

from predhub.api.app import create_app
from predhub.api.asyncapi import Quote, Resync, Subscribed
from predhub.client import AsyncClient, Client, HubBadRequest, HubNotFound, MissingExtra
from predhub.client.calls import ROUTES
from predhub.client.errors import HubUnauthorized, HubUnavailable
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market, write_quote

COND = "0x" + "cc" * 32


async def _world(conn: asyncpg.Connection) -> list[int]:
    ids = [
        await seed_market(
            conn,
            SeedMarket(
                native_id=f"m{i}",
                slug=f"market-{i}",
                condition_id=COND if i == 0 else None,
                volume_24h=1000 - i,
                synced_ago=1,
            ),
        )
        for i in range(7)
    ]
    outcome = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", ids[0]
    )
    start = datetime.now(UTC) - timedelta(hours=3)
    await conn.executemany(
        "INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size,"
        " executed_at) VALUES ('polymarket', $1, $2, $3, 0.5, 1, $4)",
        [(ids[0], outcome, f"k{i}", start + timedelta(minutes=i)) for i in range(25)],
    )
    await conn.executemany(
        "INSERT INTO silver.price_history (outcome_id, ts, price) VALUES ($1, $2, $3)",
        [(outcome, start + timedelta(minutes=5 * i), Decimal("0.5")) for i in range(30)],
    )
    return ids


def test_every_route_of_the_openapi_document_has_a_client_method(app: FastAPI) -> None:
    schema = app.openapi()
    served = {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops}
    assert served == set(ROUTES.values())
    for name in ROUTES:
        assert hasattr(Client, name) and hasattr(AsyncClient, name), name
    # the client parses with the models the OpenAPI document is generated from
    components = schema["components"]["schemas"]
    for name in ("Market", "MarketPrice", "TradeOut", "History", "LegacyBatchPrices"):
        assert name in components


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _api_parameters(schema: dict[str, Any], method: str, path: str) -> dict[str, bool]:
    """Each parameter of an operation (path, query, JSON body field), client-named, to
    whether it is required. `format` is left out: exports go through `download`."""
    operation = schema["paths"][path][method.lower()]
    found = {
        _snake(p["name"]): bool(p.get("required"))
        for p in operation.get("parameters", [])
        if p["in"] in ("path", "query") and p["name"] != "format"
    }
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        ref = body["schema"]
        refs = [ref, *ref.get("anyOf", [])]
        model = next(r["$ref"] for r in refs if "$ref" in r).rsplit("/", 1)[1]
        component = schema["components"]["schemas"][model]
        required = set(component.get("required", []))
        for name in component["properties"]:
            found[_snake(name)] = name in required
    return found


def _method_parameters(method: Any) -> dict[str, bool]:
    signature = inspect.signature(method)
    return {
        name: p.default is inspect.Parameter.empty
        for name, p in signature.parameters.items()
        if name != "self"
    }


def test_client_methods_take_the_routes_own_parameters(app: FastAPI) -> None:
    """Renaming, adding or dropping a parameter of a route fails here until the client
    methods follow: same names, and required exactly when the API requires them."""
    schema = app.openapi()
    for name, (method, path) in ROUTES.items():
        expected = _api_parameters(schema, method, path)
        for cls in (Client, AsyncClient):
            assert _method_parameters(getattr(cls, name)) == expected, f"{cls.__name__}.{name}"
    # The iterators take a list's own parameters; `cursor` is where they start.
    for name, route in (
        ("iter_markets", "markets"),
        ("iter_events", "events"),
        ("iter_trades", "trades"),
    ):
        expected = _api_parameters(schema, *ROUTES[route])
        assert "cursor" in expected, route
        for cls in (Client, AsyncClient):
            assert _method_parameters(getattr(cls, name)) == expected, f"{cls.__name__}.{name}"


async def test_async_client_reads_pages_ids_tiers_and_frames(
    live_url: str, conn: asyncpg.Connection
) -> None:
    ids = await _world(conn)
    async with AsyncClient(f"http://{live_url}") as hub:
        page = await hub.markets(limit=3)
        assert [m.id for m in page.data] == ids[:3] and page.next_cursor
        assert [m.id async for m in hub.iter_markets(limit=3)] == ids
        by_slug = await hub.market("market-2")
        assert by_slug.id == ids[2]
        assert (await hub.market(COND)).id == ids[0]
        price = await hub.price(ids[0], tier="T3")
        assert price.tier == "T3" and price.cache in ("hit", "refreshed")
        assert (await hub.price(ids[0], max_age=600)).max_age == 600
        trades = [t.trade_key async for t in hub.iter_trades(ids[0], limit=10)]
        assert trades == [f"k{i}" for i in reversed(range(25))]

        frame = (await hub.markets(limit=7)).to_pandas()
        assert list(frame["id"]) == ids
        assert {"outcome_0_label", "outcome_1_price"} <= set(frame.columns)
        assert list(frame["outcome_0_label"]) == ["Yes"] * 7
        since = datetime.now(UTC) - timedelta(hours=4)
        candles = await hub.history(ids[0], interval="5m", start=since)
        polars_frame = candles.to_polars()
        assert polars_frame.height == len(candles.candles) > 0
        assert str(polars_frame.schema["t"]).startswith("Datetime")
        trades_frame = (await hub.trades(ids[0], limit=5)).to_pandas()
        assert len(trades_frame) == 5 and str(trades_frame["executed_at"].dt.tz) == "UTC"

        batch = await hub.legacy_prices([COND], tier="T3")
        assert batch.markets[COND].outcomePrices == ["0.6", "0.4"]

        with pytest.raises(HubNotFound) as missing:
            await hub.market("polymarket:nothing-here")
        assert missing.value.status == 404 and missing.value.code
        with pytest.raises(HubBadRequest) as bad:
            await hub.price(ids[0], tier="T9")
        assert bad.value.code == "unknown_tier"


async def test_sync_client_and_downloads(
    live_url: str, conn: asyncpg.Connection, tmp_path: Any
) -> None:
    ids = await _world(conn)

    def use() -> tuple[int, int, int]:
        with Client(f"http://{live_url}") as hub:
            listed = sum(1 for _ in hub.iter_markets(limit=2))
            detail = hub.market(str(ids[1])).id
            written = hub.download(f"/v1/markets/{ids[0]}/trades", str(tmp_path / "t.parquet"))
            return listed, detail, written

    listed, detail, written = await asyncio.to_thread(use)
    assert listed == 7 and detail == ids[1] and written > 0
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "t.parquet").num_rows == 25


async def test_subscribe_streams_quotes(live_url: str, conn: asyncpg.Connection) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=1))
    async with AsyncClient(f"http://{live_url}") as hub:
        feed = hub.subscribe([market_id])
        async with asyncio.timeout(10):
            first = await anext(feed)
            assert isinstance(first, Subscribed)
            initial = await anext(feed)
            assert isinstance(initial, Quote) and initial.market_id == market_id
            await write_quote(conn, market_id, [0.41, 0.59])
            pushed = await anext(feed)
            assert isinstance(pushed, Quote)
            assert pushed.data.outcomes[0].price == 0.41
        await feed.aclose()  # type: ignore[attr-defined]


async def _serve(db_url: str, refresher: WritingRefresher, port: int) -> uvicorn.Server:
    """A fresh app on `port`, as a restarted `predhub serve` would be."""
    application = create_app(make_settings(), database_url=db_url, refresher=refresher)
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    )
    _tasks[server] = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            return server
        await asyncio.sleep(0.02)
    raise AssertionError("the API did not start")


async def _stop(server: uvicorn.Server) -> None:
    server.should_exit = True
    await _tasks.pop(server)


_tasks: dict[uvicorn.Server, asyncio.Task[None]] = {}


async def _next_quote(feed: AsyncIterator[Any]) -> Quote:
    while not isinstance(message := await anext(feed), Quote):
        pass
    return message


async def test_subscribe_reconnects_and_resyncs_after_the_api_restarts(
    db_url: str, refresher: WritingRefresher, conn: asyncpg.Connection
) -> None:
    market_id = await seed_market(conn, SeedMarket(synced_ago=1))
    port = free_port()
    server = await _serve(db_url, refresher, port)
    try:
        async with AsyncClient(f"http://127.0.0.1:{port}") as hub:
            feed = hub.subscribe([market_id], reconnect_delay=0.05, max_delay=0.2)
            async with asyncio.timeout(30):
                assert isinstance(await anext(feed), Subscribed)
                assert (await _next_quote(feed)).data.outcomes[0].price == 0.6
                # The API goes away under the open socket, and the market moves meanwhile.
                await _stop(server)
                waiting = asyncio.create_task(anext(feed))
                await write_quote(conn, market_id, [0.33, 0.67])
                await asyncio.sleep(0.5)  # the client's reconnects are refused for a while
                assert not waiting.done()
                server = await _serve(db_url, refresher, port)
                # Back: a resync first, then the current state replaces what was missed ...
                resync = await waiting
                assert isinstance(resync, Resync) and resync.reason == "reconnected"
                assert (await _next_quote(feed)).data.outcomes[0].price == 0.33
                # ... and updates flow again.
                await write_quote(conn, market_id, [0.44, 0.56])
                assert (await _next_quote(feed)).data.outcomes[0].price == 0.44
            await feed.aclose()  # type: ignore[attr-defined]
    finally:
        if server in _tasks:
            await _stop(server)


def test_retries_honour_retry_after_then_give_up() -> None:
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        if len(seen) < 3:
            return httpx.Response(503, headers={"retry-after": "0.2"}, json={"error": {}})
        return httpx.Response(200, json={"status": "ok", "details": {}})

    with Client("http://hub", transport=httpx.MockTransport(handler)) as hub:
        assert hub.healthz().status == "ok"
    assert len(seen) == 3 and seen[1] - seen[0] >= 0.2 and seen[2] - seen[1] >= 0.2

    def always(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            503,
            headers={"retry-after": "0"},
            json={"error": {"code": "database_unavailable", "message": "away", "details": {}}},
        )

    transport = httpx.MockTransport(always)
    with (
        Client("http://hub", transport=transport, max_retries=2) as hub,
        pytest.raises(HubUnavailable) as failed,
    ):
        hub.healthz()
    assert failed.value.code == "database_unavailable"


def test_a_missing_extra_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from predhub.client.calls import Page

    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(MissingExtra, match=r"pip install 'predhub\[polars\]'"):
        Page([], None, [{"id": 1}]).to_polars()


async def test_the_client_keeps_research_and_manages_keys(
    live_url: str, conn: asyncpg.Connection
) -> None:

    mid = await seed_market(conn, SeedMarket(native_id="researched", synced_ago=1))
    async with AsyncClient(f"http://{live_url}", api_key=ADMIN_KEY) as hub:
        account = await hub.create_account("notebook", level="whitelist")
        assert account["name"] == "notebook"
        made = await hub.create_key("notebook", name="laptop")
        listed = await hub.keys(account="notebook")
        assert [k["name"] for k in listed["data"]] == ["laptop"]
        kept = await hub.add_research(mid, "polls moved", research_type="current", ttl_seconds=600)
        assert [r["id"] for r in (await hub.research(mid))["data"]] == [kept["id"]]
        analysis = await hub.add_analysis(mid, "will it pass?", recommendation="HOLD")
        await hub.add_conclusion(analysis["id"], "too close to call", sentiment="neutral")
        read = await hub.analysis(analysis["id"])
        assert read["conclusion"]["conclusion"] == "too close to call"
        audit = await hub.audit(account=None, limit=50)
        assert any("/research" in row["route"] for row in audit["data"])
        await hub.revoke_key("laptop")  # by name
    async with AsyncClient(f"http://{live_url}", api_key=made["key"]) as revoked:
        with pytest.raises(HubUnauthorized):
            await revoked.add_research(mid, "after revocation")
