"""Accounts, keys and levels, the shared per-minute limits and the audit log, over the real app."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from api_support import ADMIN_KEY, assert_error, make_settings

from predhub.api.app import create_app
from predhub.api.keys import hash_key
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market

ADMIN = {"X-API-Key": ADMIN_KEY}


@contextlib.asynccontextmanager
async def client_for(
    db_url: str, refresher: WritingRefresher, **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of its own app (its own process state) on the shared database."""
    app = create_app(make_settings(**overrides), database_url=db_url, refresher=refresher)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def new_key(client: httpx.AsyncClient, account: str, level: str, **extra: object) -> str:
    response = await client.post(
        "/v1/admin/keys", json={"account": account, "level": level, **extra}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


RESEARCH = {"research_data": "polls moved", "sources": [{"url": "https://example.org/a"}]}


async def test_keys_are_shown_once_stored_hashed_and_listed_without_the_key(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    key = await new_key(client, "alice", "vip", name="alice-laptop")
    stored = await conn.fetchrow(
        "SELECT key_hash, name FROM ops.api_keys WHERE name = 'alice-laptop'"
    )
    assert stored is not None and stored["key_hash"] == hash_key(key)
    assert await conn.fetchval("SELECT count(*) FROM ops.api_keys WHERE key_hash = $1", key) == 0
    listed = (await client.get("/v1/admin/keys", headers=ADMIN)).json()["data"]
    row = next(r for r in listed if r["name"] == "alice-laptop")
    assert row["account"] == "alice" and row["level"] == "vip" and row["last_used_at"] is None
    assert key not in str(listed)
    taken = await client.post(
        "/v1/admin/keys", json={"account": "bob", "name": "alice-laptop"}, headers=ADMIN
    )
    assert_error(taken, 409)
    assert await conn.fetchval("SELECT count(*) FROM ops.accounts WHERE name = 'bob'") == 0


async def test_levels_decide_reads_writes_and_admin(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="lv"))
    url = f"/v1/markets/{mid}/research"
    reader = await new_key(client, "reader", "whitelist")
    writer = await new_key(client, "writer", "vip")
    assert (await client.get(url)).status_code == 200  # reads are open by default
    assert_error(await client.post(url, json=RESEARCH), 401, "unauthorized")
    refused = await client.post(url, json=RESEARCH, headers={"X-API-Key": reader})
    assert_error(refused, 403, "forbidden")
    assert "whitelist" in refused.json()["error"]["message"]
    assert (await client.post(url, json=RESEARCH, headers={"X-API-Key": writer})).status_code == 201
    assert_error(await client.get("/v1/admin/keys", headers={"X-API-Key": writer}), 403)
    assert_error(await client.get("/v1/admin/keys", headers={"X-API-Key": "phk_nope"}), 401)
    assert await conn.fetchval("SELECT count(*) FROM app.research") == 1

    blocked = await client.patch(
        "/v1/admin/accounts/writer", json={"level": "blocked"}, headers=ADMIN
    )
    assert blocked.status_code == 200
    for response in (
        await client.get(url, headers={"X-API-Key": writer}),
        await client.post(url, json=RESEARCH, headers={"X-API-Key": writer}),
    ):
        assert_error(response, 403, "blocked")
        assert "'writer' is blocked" in response.json()["error"]["message"]
    assert await conn.fetchval("SELECT count(*) FROM app.research") == 1


async def test_revoked_and_expired_keys_are_refused_saying_which(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    await seed_market(conn, SeedMarket(native_id="rv"))
    key = await new_key(client, "carol", "vip", name="carol-1")
    assert (await client.get("/v1/markets", headers={"X-API-Key": key})).status_code == 200
    assert (await client.delete("/v1/admin/keys/carol-1", headers=ADMIN)).status_code == 200
    for _ in range(2):  # the cached check is dropped by the NOTIFY, the write checks afresh
        revoked = await client.post(
            "/v1/markets/1/research", json=RESEARCH, headers={"X-API-Key": key}
        )
        assert_error(revoked, 401, "key_revoked")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = await new_key(client, "carol", "vip", name="carol-2", expires_at=past)
    answer = await client.get("/v1/markets", headers={"X-API-Key": expired})
    assert_error(answer, 401, "key_expired")
    assert "expired at" in answer.json()["error"]["message"]
    assert_error(await client.delete("/v1/admin/keys/nope", headers=ADMIN), 404)


async def test_reads_can_require_keys(db_url: str, refresher: WritingRefresher) -> None:
    async with client_for(db_url, refresher, api_require_keys=True) as c:
        assert_error(await c.get("/v1/markets"), 401, "unauthorized")
        assert (await c.get("/healthz")).status_code == 200
        key = await new_key(c, "dave", "whitelist")
        assert (await c.get("/v1/markets", headers={"X-API-Key": key})).status_code == 200


async def test_limits_hold_across_processes_with_ratelimit_headers(
    db_url: str, refresher: WritingRefresher, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="rl", synced_ago=1))
    limits = {"access_level_limits": "admin=1000/100,whitelist=7/1"}
    async with (
        client_for(db_url, refresher, **limits) as one,
        client_for(db_url, refresher, **limits) as two,
    ):
        key = await new_key(one, "erin", "whitelist")
        headers = {"X-API-Key": key}
        statuses = []
        for i in range(10):
            c = one if i % 2 == 0 else two
            r = await c.get(f"/v1/markets/{mid}/price", params={"tier": "T4"}, headers=headers)
            statuses.append(r.status_code)
            if r.status_code == 200:
                assert r.headers["RateLimit-Limit"] == "7"
                assert int(r.headers["RateLimit-Remaining"]) <= 7 - statuses.count(200)
                assert r.headers["RateLimit-Policy"] == "7;w=60"
            else:
                assert_error(r, 429, "rate_limited")
                assert 1 <= int(r.headers["Retry-After"]) <= 60
                assert r.headers["RateLimit-Remaining"] == "0"
        assert statuses.count(200) == 7 and statuses[7:] == [429, 429, 429]
        # anonymous reads are not counted against the key
        assert (await one.get(f"/v1/markets/{mid}/price")).status_code == 200
    hits = await conn.fetchval(
        "SELECT sum(c.hits) FROM ops.rate_counts c JOIN ops.api_keys k ON k.id = c.key_id"
        " JOIN ops.accounts a ON a.id = k.account_id WHERE a.name = 'erin'"
    )
    assert hits == 7


async def test_the_refresh_limit_serves_from_the_database(
    db_url: str, refresher: WritingRefresher, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="rf", synced_ago=3600))
    other = await seed_market(conn, SeedMarket(native_id="rf2", synced_ago=3600))
    async with client_for(db_url, refresher, access_level_limits="whitelist=100/1") as c:
        key = await new_key(c, "fay", "whitelist")
        headers = {"X-API-Key": key}
        first = await c.get(f"/v1/markets/{mid}/price", params={"tier": "T1"}, headers=headers)
        assert first.status_code == 200 and len(refresher.calls) == 1
        assert first.json()["stale"] is False
        second = await c.get(f"/v1/markets/{other}/price", params={"tier": "T1"}, headers=headers)
        assert second.status_code == 200 and len(refresher.calls) == 1
        body = second.json()
        assert body["stale"] is True and "refresh limit" in body["stale_reason"]


async def test_the_cached_fast_path_is_checked_and_counted(
    db_url: str, refresher: WritingRefresher, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="fp", synced_ago=1))
    async with client_for(db_url, refresher, access_level_limits="whitelist=3/0") as c:
        key = await new_key(c, "gil", "whitelist")
        url = f"/v1/markets/{mid}/price"
        assert (await c.get(url)).status_code == 200  # warms the cache (anonymous)
        ok = [await c.get(url, headers={"X-API-Key": key}) for _ in range(3)]
        assert all(r.status_code == 200 and "ratelimit-limit" in r.headers for r in ok)
        assert_error(await c.get(url, headers={"X-API-Key": key}), 429)
        changed = await c.patch("/v1/admin/accounts/gil", json={"level": "blocked"}, headers=ADMIN)
        assert changed.status_code == 200, changed.text
        for _ in range(200):  # until the NOTIFY has reached this process's listener
            blocked = await c.get(url, headers={"X-API-Key": key})
            if blocked.status_code == 403:
                break
            await asyncio.sleep(0.05)
        assert_error(blocked, 403, "blocked")


async def test_writes_and_admin_actions_are_audited_and_filterable(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="au"))
    key = await new_key(client, "hana", "vip")
    made = await client.post(
        f"/v1/markets/{mid}/research", json=RESEARCH, headers={"X-API-Key": key}
    )
    research_id = made.json()["id"]
    await client.post("/v1/markets/nope-never/research", json=RESEARCH, headers={"X-API-Key": key})
    await client.post(f"/v1/markets/{mid}/research", json=RESEARCH)  # no key
    page = (await client.get("/v1/admin/audit", params={"account": "hana"}, headers=ADMIN)).json()
    rows = page["data"]
    assert [r["status"] for r in rows] == [404, 201]
    assert rows[1]["object"] == f"research:{research_id}"
    assert rows[1]["route"] == "/v1/markets/{market_id}/research" and rows[1]["error"] is None
    assert "nope-never" in rows[0]["error"] and rows[0]["key_name"].startswith("hana")
    errors = (await client.get("/v1/admin/audit", params={"errors": "true"}, headers=ADMIN)).json()
    assert {r["status"] for r in errors["data"]} == {401, 404}
    anonymous = next(r for r in errors["data"] if r["status"] == 401)
    assert anonymous["account"] is None and "API key is required" in anonymous["error"]
    keys_made = await client.get(
        "/v1/admin/audit", params={"route": "/v1/admin/keys"}, headers=ADMIN
    )
    assert next(r["object"] for r in keys_made.json()["data"]).startswith("key:")
    assert_error(await client.get("/v1/admin/audit", params={"status": 99}, headers=ADMIN), 422)


def test_the_keys_command_creates_lists_and_revokes(db_url: str) -> None:
    env = {"DATABASE_URL": db_url, "PATH": "/usr/bin:/bin", "LOG_JSON": "false"}

    def predhub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "predhub", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = predhub("keys", "create", "ivy-ci", "--account", "ivy", "--level", "vip")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0].startswith("phk_")
    listed = predhub("keys", "list")
    assert "ivy-ci" in listed.stdout and "vip" in listed.stdout
    assert made.stdout.splitlines()[0] not in listed.stdout
    assert predhub("keys", "revoke", "ivy-ci").returncode == 0
    assert "ivy-ci" not in predhub("keys", "list").stdout
    again = predhub("keys", "create", "ivy-ci", "--account", "ivy")
    assert again.returncode == 2 and "exists already" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    bad = predhub("keys", "level", "ivy", "superuser")
    assert bad.returncode == 2 and "level must be one of" in bad.stderr


async def test_the_database_report_is_for_admins(client: httpx.AsyncClient) -> None:
    key = await new_key(client, "jo", "vip")
    assert_error(await client.get("/v1/admin/db", headers={"X-API-Key": key}), 403)
    report = (await client.get("/v1/admin/db", params={"top": 5}, headers=ADMIN)).json()
    assert len(report["tables"]) == 5 and report["database_bytes"] > 0
    assert {r["state"] for r in report["connections"]} and report["last_backup"] is None
    assert report["slow_statements"] or "pg_stat_statements" in report["slow_statements_note"]


async def test_a_busy_key_reserves_its_next_chunk_ahead_never_past_the_limit(
    conn: asyncpg.Connection,
) -> None:
    """With less than a chunk in hand the next one is reserved in the background, so a busy key's
    requests do not queue behind the upsert; the database still counts every token."""
    from predhub.api.access import Limiter
    from predhub.service.accounts import AccountStore

    limiter = Limiter(AccountStore(conn))
    limit = 2000  # chunks of 100
    if time.time() % 60 > 50:  # all in one minute's window
        await asyncio.sleep(11)
    for _ in range(60):
        assert (await limiter.take(7, "requests", limit)).allowed
    for _ in range(100):  # let the reservation ahead finish
        if not limiter._ahead:
            break
        await asyncio.sleep(0.01)
    counted = await conn.fetchval("SELECT sum(hits) FROM ops.rate_counts WHERE key_id = 7")
    assert counted == 200  # the first chunk and the one reserved ahead
    verdict = await limiter.take(7, "requests", limit)
    assert verdict.allowed and verdict.remaining == limit - 61
    # a small limit is reserved a request at a time: nothing held ahead
    for _ in range(5):
        assert (await limiter.take(8, "requests", 5)).allowed
    assert not (await limiter.take(8, "requests", 5)).allowed
    counted = await conn.fetchval("SELECT sum(hits) FROM ops.rate_counts WHERE key_id = 8")
    assert counted == 5
