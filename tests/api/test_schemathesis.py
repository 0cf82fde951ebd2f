"""Property-based run against the app's own OpenAPI schema: no 5xx, no off-schema response.

The app runs under uvicorn in a thread of its own (on its own database, seeded
with a few markets so that generated ids sometimes hit), and schemathesis
drives every operation over real HTTP with a bounded number of examples.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
import schemathesis
import uvicorn
from api_support import free_port, make_settings
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from predhub.api.app import create_app
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market

EXAMPLES_PER_OPERATION = 25


def _url_for(server_url: str, name: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


async def _prepare(pg_server_url: str, template: str, name: str) -> str:
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    url = _url_for(pg_server_url, name)
    conn = await asyncpg.connect(url)
    try:
        await seed_market(conn, SeedMarket(native_id="1", slug="a", condition_id="0x" + "1" * 64))
        await seed_market(conn, SeedMarket(venue="kalshi", native_id="K-1", ticker="K-1"))
        await seed_market(conn, SeedMarket(native_id="r", status="resolved", winning_outcome=0))
    finally:
        await conn.close()
    return url


@pytest.fixture
def served_app(pg_server_url: str, template_db: str) -> Iterator[str]:
    name = f"predhub_st_{uuid.uuid4().hex[:8]}"
    url = asyncio.run(_prepare(pg_server_url, template_db, name))
    port = free_port()
    state: dict[str, uvicorn.Server] = {}

    def run() -> None:
        async def main() -> None:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
            try:
                app = create_app(
                    make_settings(), database_url=url, refresher=WritingRefresher(pool)
                )
                server = uvicorn.Server(
                    uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
                )
                state["server"] = server
                await server.serve()
            finally:
                await pool.close()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    for _ in range(500):
        server = state.get("server")
        if server is not None and server.started:
            break
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        state["server"].should_exit = True
        thread.join(timeout=10)

        async def drop() -> None:
            admin = await asyncpg.connect(pg_server_url)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

        asyncio.run(drop())


def test_schema_holds_under_generated_requests(served_app: str) -> None:
    schema = schemathesis.openapi.from_url(f"{served_app}/openapi.json")
    checks = [
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
        content_type_conformance,
    ]
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=served_app, checks=checks, timeout=30)

        run()
        tested += 1
    assert tested >= 15
