"""Property-based runs against the app's own OpenAPI schema: no 5xx, no off-schema response.

The app runs under uvicorn in a thread of its own, on its own database. The
per-operation run seeds a few markets so that generated ids sometimes hit and
drives every operation over real HTTP with a bounded number of examples. The
stateful run loads two venues from the simulator through real ingestion and
lets schemathesis chain calls along the links it infers between operations
(a market's id from a listing fed to its detail, history and trades), so the
calls reach rows that exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

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
from schemathesis.specs.openapi.stateful import _extracts_value

from predhub.api.app import create_app
from predhub.db.connect import create_pool
from predhub.gold.refresh import refresh
from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.maintenance import gold_config
from predhub.service.testing import SeedMarket, WritingRefresher, seed_market
from predhub.sim.testing import SimHandle
from predhub.venues.registry import build_venue

EXAMPLES_PER_OPERATION = 25
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
SCENARIOS = 30
MARKET_SCENARIOS = 10
SCENARIO_STEPS = 8


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


@contextlib.contextmanager
def _serving(pg_server_url: str, name: str, url: str) -> Iterator[str]:
    """The real app on database `name` (at `url`) under uvicorn in a thread; drops it after."""
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


@pytest.fixture
def served_app(pg_server_url: str, template_db: str) -> Iterator[str]:
    name = f"predhub_st_{uuid.uuid4().hex[:8]}"
    url = asyncio.run(_prepare(pg_server_url, template_db, name))
    with _serving(pg_server_url, name, url) as base:
        yield base


async def _load(pg_server_url: str, template: str, name: str, sim: SimHandle) -> str:
    """A database holding what real loads of two venues from the simulator wrote, and
    the gold tables the worker refreshes from them (so /v1/top lists markets to follow)."""
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    url = _url_for(pg_server_url, name)
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        for venue_name in ("polymarket", "kalshi"):
            venue = build_venue(venue_name, sim.settings())
            try:
                ingestor = Ingestor(pool, venue, sim.settings())
                await ingestor.static_load()
                ids = [
                    r["id"]
                    for r in await pool.fetch(
                        "SELECT id FROM silver.markets WHERE venue = $1 ORDER BY id LIMIT 5",
                        venue_name,
                    )
                ]
                await ingestor.sync_trades(ids)
            finally:
                await venue.close()
        async with pool.acquire() as conn:
            await refresh(conn, gold_config(sim.settings()), now=datetime.now(UTC))
    finally:
        await pool.close()
    return url


@pytest.fixture
def loaded_app(pg_server_url: str, template_db: str, sim: SimHandle) -> Iterator[str]:
    name = f"predhub_sf_{uuid.uuid4().hex[:8]}"
    url = asyncio.run(_load(pg_server_url, template_db, name, sim))
    with _serving(pg_server_url, name, url) as base:
        yield base


def test_schema_holds_under_generated_requests(served_app: str) -> None:
    schema = schemathesis.openapi.from_url(f"{served_app}/openapi.json")
    checks = CHECKS
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


def _stateful_settings(scenarios: int) -> settings:
    return settings(
        max_examples=scenarios,
        stateful_step_count=SCENARIO_STEPS,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _run_stateful(
    base_url: str, scenarios: int, path_regex: str | None = None
) -> dict[str, set[int]]:
    """Run the link-following state machine (over the operations whose path matches
    `path_regex`, or all); returns the statuses each operation answered."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    if path_regex is not None:
        schema = schema.include(path_regex=path_regex)
    machine = schema.as_state_machine()
    links = [link for op in machine._transitions.operations.values() for link in op.outgoing]
    reached: dict[str, set[int]] = {}

    class Scenario(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": base_url, "timeout": 30}

        def _get_target_for_result(self, result: Any) -> str | None:
            # An answer joins the bundle its links read from only when it holds
            # something to follow. The links read JSON bodies (`$response.body#/data/*/id`):
            # a list asked for format=csv|ndjson|parquet answers 200 with a file, and a
            # filter matching nothing (or an empty ranking: /v1/trending on a quiet day)
            # answers 200 with no rows; either would hand a later step no id, and the
            # step would fall back to a random one. Such answers are still validated.
            bundle = super()._get_target_for_result(result)
            if bundle is None:
                return None
            source = result.case.operation.label
            links = self._transitions.operations[source].outgoing
            if any(
                f"{source} -> {link.status_code}" == bundle
                and _extracts_value(link.extract(result))
                for link in links
            ):
                return bundle  # type: ignore[no-any-return]
            return None

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            reached.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    assert links, "schemathesis inferred no links between the API's operations"
    Scenario.run(settings=_stateful_settings(scenarios))
    return reached


def test_linked_call_sequences_hold_on_loaded_data(loaded_app: str) -> None:
    # Every operation, chained along the links: no 5xx, every answer on its schema,
    # and ids taken from answers lead to rows that exist.
    reached = _run_stateful(loaded_app, SCENARIOS)
    linked = [op for op, statuses in reached.items() if "{" in op and 200 in statuses]
    assert len(linked) >= 3, reached
    # The list and the detail alone, so that the steps after a listing follow its
    # links to the detail (with every operation in play, the list-like roots take
    # most steps and the detail is one of ten targets of a listing, drawn a handful
    # of times per run or, now and then, not at all): a listed market's id,
    # followed to its detail, finds the loaded row.
    markets = _run_stateful(
        loaded_app, MARKET_SCENARIOS, path_regex=r"^/v1/markets(/\{market_id\})?$"
    )
    assert 200 in markets.get("GET /v1/markets/{market_id}", set()), markets


@pytest.mark.slow
def test_linked_call_sequences_hold_on_loaded_data_long(loaded_app: str) -> None:
    reached = _run_stateful(loaded_app, SCENARIOS * 20)
    assert sum(200 in statuses for statuses in reached.values()) >= 8
