"""The cached price read answered before routing: same answers, same errors, kept correct."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from predhub.api.fastpath import CachedPriceMiddleware, _query
from predhub.service.testing import SeedMarket, seed_market


def _without_age(doc: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in doc.items() if k != "age"}


async def test_hit_matches_the_full_route_and_follows_changes(
    app: FastAPI, client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    service = app.state.api.service
    mid = await seed_market(conn, SeedMarket(native_id="fp", question="Fast?", synced_ago=5))
    url = f"/v1/markets/{mid}/price"
    assert service.cached_price(str(mid), "T3", None) is None  # nothing remembered yet
    first = await client.get(url, params={"tier": "T3"})  # the full route fills the cache
    assert service.cached_price(str(mid), "T3", None) is not None
    second = await client.get(url, params={"tier": "T3"})  # answered by the fast path
    assert second.status_code == 200 and second.headers["content-type"] == "application/json"
    assert _without_age(second.json()) == _without_age(first.json())
    assert second.json()["cache"] == "hit"

    # A change of the row reaches the cache through the notification; the next read sees it.
    await conn.execute("UPDATE silver.markets SET question = 'Changed?' WHERE id = $1", mid)
    for _ in range(100):
        if service.cached_price(str(mid), "T3", None) is None:
            break
        await asyncio.sleep(0.02)
    assert (await client.get(url, params={"tier": "T3"})).json()["question"] == "Changed?"

    # A stale row for a stricter tier is never answered from the cache.
    assert service.cached_price(str(mid), None, 1.0) is None

    # Errors still come from the documented route, with its shape, for cached markets too.
    bad = await client.get(url, params={"tier": "T9"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_tier"
    assert (await client.get(url, params={"max_age": "-1"})).status_code == 422


async def test_metrics_label_the_route_for_fast_answers(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="fm", synced_ago=5))

    async def counted() -> float:
        text = (await client.get("/metrics")).text
        found = re.search(
            r'^predhub_http_requests_total\{method="GET",route="/v1/markets/\{market_id\}/price",'
            r'status="200"\} (\S+)$',
            text,
            re.M,
        )
        return 0.0 if found is None else float(found[1])

    before = await counted()
    for _ in range(3):
        assert (await client.get(f"/v1/markets/{mid}/price")).status_code == 200
    # all three: the first, a cache miss, by the route; the hits by the fast path
    assert await counted() - before == 3
    assert 'cache="hit"' in (await client.get("/metrics")).text


def test_query_parsing_takes_only_plain_values() -> None:
    assert _query(b"") == (None, None)
    assert _query(b"tier=T4") == ("T4", None)
    assert _query(b"max_age=2.5&tier=feed") == ("feed", 2.5)
    for raw in (b"tier=", b"max_age=-1", b"max_age=1e3", b"other=1", b"tier=a&tier=b", b"x"):
        assert _query(raw) is None, raw


async def test_head_takes_the_fast_path_too(
    app: FastAPI, client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="fh", synced_ago=5))
    url = f"/v1/markets/{mid}/price"
    get = await client.get(url, params={"tier": "T3"}, headers={"accept-encoding": "identity"})
    assert get.status_code == 200  # the full route filled the cache
    # Count what gets past the fast path: the app behind it sees only what it did not answer.
    layer = app.middleware_stack
    while not isinstance(layer, CachedPriceMiddleware):
        layer = layer.app  # type: ignore[union-attr]
    behind, passed = layer.app, []

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        passed.append((scope["method"], scope["path"]))
        await behind(scope, receive, send)

    layer.app = counting
    try:
        # The answer carries its age, whose digits change as time passes: a GET right after
        # the HEAD is the body the HEAD describes, unless the age moved between the two.
        for _ in range(5):
            head = await client.head(
                url, params={"tier": "T3"}, headers={"accept-encoding": "identity"}
            )
            after = await client.get(
                url, params={"tier": "T3"}, headers={"accept-encoding": "identity"}
            )
            if head.headers["content-length"] == str(len(after.content)):
                break
        assert head.status_code == 200 and head.content == b""
        assert head.headers["etag"] == get.headers["etag"]
        assert head.headers["content-length"] == str(len(after.content))
        assert head.headers["content-type"] == "application/json"
        assert passed == []  # HEAD and GET answered from the cache, no routing
        tagged = await client.head(
            url, params={"tier": "T3"}, headers={"if-none-match": get.headers["etag"]}
        )
        assert tagged.status_code == 304 and passed == []
        # What the fast path cannot answer still reaches the route, HEAD or not.
        assert (await client.head(url, params={"tier": "T9"})).status_code == 400
        assert passed == [("HEAD", url)]
    finally:
        layer.app = behind
