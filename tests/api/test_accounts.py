"""Accounts, keys and levels, the shared per-minute limits and the audit log, over the real app."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from api_support import ADMIN_KEY, assert_error, make_settings

from predhub.api.app import create_app
from predhub.api.keys import hash_key
from predhub.api.keys import new_key as new_api_key
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market

ADMIN = {"X-API-Key": ADMIN_KEY}
LIMIT_FIELDS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy")


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


async def until_status(
    request: Callable[[], Awaitable[httpx.Response]], status: int
) -> httpx.Response:
    """`request` repeated until it answers `status` (a change announced by NOTIFY reaches
    another process's listener a moment after the commit); the last answer otherwise."""
    for _ in range(200):
        answer = await request()
        if answer.status_code == status:
            break
        await asyncio.sleep(0.05)
    return answer


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
    read = await client.get(f"/v1/markets/{mid}/research", headers={"X-API-Key": key})
    assert read.status_code == 200  # reads are not audited
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


async def test_every_process_refuses_a_revoked_key_or_blocked_account_it_had_admitted(
    db_url: str, refresher: WritingRefresher, conn: asyncpg.Connection
) -> None:
    """Reads by a checked key cost no look-up, yet a revocation or a level change made
    through one process reaches the others' kept checks by NOTIFY: with the re-check an
    hour away, only the announcement can make them refuse."""
    mid = await seed_market(conn, SeedMarket(native_id="xp", synced_ago=1))
    url = f"/v1/markets/{mid}/price"
    kept = {"api_key_cache_seconds": 3600}
    async with (
        client_for(db_url, refresher, **kept) as one,
        client_for(db_url, refresher, **kept) as two,
    ):
        kim = {"X-API-Key": await new_key(one, "kim", "vip", name="kim-1")}
        lee = {"X-API-Key": await new_key(one, "lee", "vip", name="lee-1")}
        for c in (one, two):
            for headers in (kim, lee, kim):  # checked once, then admitted from memory
                answer = await c.get(url, params={"tier": "T4"}, headers=headers)
                assert answer.status_code == 200 and answer.headers["ratelimit-limit"]
        assert (await one.delete("/v1/admin/keys/kim-1", headers=ADMIN)).status_code == 200
        refused = await until_status(lambda: two.get(url, headers=kim), 401)
        assert_error(refused, 401, "key_revoked")
        assert_error(await one.get(url, headers=kim), 401, "key_revoked")
        assert (await two.get(url, headers=lee)).status_code == 200  # other keys unaffected
        changed = await two.patch(
            "/v1/admin/accounts/lee", json={"level": "blocked"}, headers=ADMIN
        )
        assert changed.status_code == 200, changed.text
        blocked = await until_status(lambda: one.get(url, headers=lee), 403)
        assert_error(blocked, 403, "blocked")
        assert_error(await two.get(url, headers=lee), 403, "blocked")


async def test_blocking_an_account_with_more_keys_than_one_notify_holds_refuses_them_all(
    db_url: str, refresher: WritingRefresher, conn: asyncpg.Connection
) -> None:
    """A NOTIFY payload holds under 8,000 bytes: an account's key ids go out in as many
    notifications as they need, so every process drops every kept check of the account
    at once (not only the first 7,000 characters' worth, the rest waiting an hour)."""
    mid = await seed_market(conn, SeedMarket(native_id="mk", synced_ago=1))
    url = f"/v1/markets/{mid}/price"
    kept = {"api_key_cache_seconds": 3600}
    async with (
        client_for(db_url, refresher, **kept) as one,
        client_for(db_url, refresher, **kept) as two,
    ):
        keys = [await new_key(one, "many", "vip", name="many-0")]
        account = await conn.fetchval("SELECT account_id FROM ops.api_keys WHERE name = 'many-0'")
        # Long ids (16 digits), so 500 keys are 8,500 characters of ids.
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('ops.api_keys', 'id'), 1000000000000000)"
        )
        more = [new_api_key() for _ in range(500)]
        await conn.executemany(
            "INSERT INTO ops.api_keys (name, key_hash, scopes, account_id) VALUES ($1, $2, '{}', $3)",
            [(f"many-{i}", hash_key(key), account) for i, key in enumerate(more, 1)],
        )
        keys += more
        ids = await conn.fetchval(
            "SELECT string_agg(id::text, ',') FROM ops.api_keys WHERE account_id = $1", account
        )
        assert len(ids) > 8000
        for key in keys:  # each checked once, then admitted from one's memory
            assert (await one.get(url, headers={"X-API-Key": key})).status_code == 200
        changed = await two.patch(
            "/v1/admin/accounts/many", json={"level": "blocked"}, headers=ADMIN
        )
        assert changed.status_code == 200, changed.text
        # The notifications arrive in order: once the last key is refused, all were announced.
        last = await until_status(lambda: one.get(url, headers={"X-API-Key": keys[-1]}), 403)
        assert_error(last, 403, "blocked")
        admitted = [
            i
            for i, key in enumerate(keys)
            if (await one.get(url, headers={"X-API-Key": key})).status_code != 403
        ]
        assert admitted == [], f"{len(admitted)} of {len(keys)} keys still admitted"


async def test_a_change_made_without_announcement_is_caught_by_the_recheck(
    db_url: str, refresher: WritingRefresher, conn: asyncpg.Connection
) -> None:
    """A kept check is redone after API_KEY_CACHE_SECONDS even if no NOTIFY came (here the
    triggers that announce changes are bypassed)."""
    mid = await seed_market(conn, SeedMarket(native_id="rc", synced_ago=1))
    url = f"/v1/markets/{mid}/price"
    async with client_for(db_url, refresher, api_key_cache_seconds=0.2) as c:
        headers = {"X-API-Key": await new_key(c, "max", "vip", name="max-1")}
        assert (await c.get(url, headers=headers)).status_code == 200
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")  # no triggers
            await conn.execute("UPDATE ops.api_keys SET revoked_at = now() WHERE name = 'max-1'")
        refused = await until_status(lambda: c.get(url, headers=headers), 401)
        assert_error(refused, 401, "key_revoked")


async def test_every_answer_to_a_keyed_read_carries_the_limit_fields(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    """The fast path's answer, a 304, a HEAD, a routed (and compressed) answer and an
    error all carry the RateLimit fields, counting down."""
    mid = await seed_market(conn, SeedMarket(native_id="lf", synced_ago=1))
    for i in range(30):
        await seed_market(conn, SeedMarket(native_id=f"lf{i}", question=f"Filler {i} " * 20))
    headers = {"X-API-Key": await new_key(client, "ned", "vip")}
    price = f"/v1/markets/{mid}/price"
    first = await client.get(price, headers=headers)
    etag = first.headers["etag"]
    answers = [
        first,
        await client.get(price, headers=headers),  # from the fast path
        await client.get(price, headers={**headers, "If-None-Match": etag}),
        await client.head(price, headers=headers),
        await client.get("/v1/markets", headers={**headers, "Accept-Encoding": "gzip"}),
        await client.get("/v1/markets/nope-never/price", headers=headers),
    ]
    assert [a.status_code for a in answers] == [200, 200, 304, 200, 200, 404]
    assert answers[4].headers.get("content-encoding") == "gzip"
    for answer in answers:
        assert all(name in answer.headers for name in LIMIT_FIELDS), answer.headers
        assert answer.headers["ratelimit-policy"] == "1200;w=60"
        assert 1 <= int(answer.headers["ratelimit-reset"]) <= 60
    remaining = [int(a.headers["ratelimit-remaining"]) for a in answers]
    assert remaining == sorted(remaining, reverse=True) and remaining[0] < 1200


def test_a_busy_key_reserves_chunks_that_last_a_while_at_its_pace() -> None:
    """A chunk is about CHUNK_SECONDS of what the key spent here since the last one (not a
    fixed size), never more than 1/CHUNK_SHARE of the minute nor than is left of it."""
    from predhub.api.access import BASE_CHUNK, CHUNK_SECONDS, CHUNK_SHARE, Limiter, _Allowance

    now = time.time()

    def chunk(limit: int, spent_last_second: int, used: int = 0) -> int:
        allowance = _Allowance()
        allowance.roll(now - 1)
        allowance.granted, allowance.tokens, allowance.used = spent_last_second, 0, used
        allowance.mark, allowance.marked = now - 1, 0
        return Limiter._chunk(allowance, limit, 1, now)

    assert chunk(10**9, 0) == BASE_CHUNK  # nothing known yet
    assert chunk(10**9, 5000) == 5000 * CHUNK_SECONDS
    assert chunk(6000, 5000) == 6000 // CHUNK_SHARE
    assert chunk(10**9, 5000, used=10**9 - 7) == 7
    assert chunk(10, 5000) == 1
