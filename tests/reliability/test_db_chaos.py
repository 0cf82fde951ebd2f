"""The database goes away under a running API and worker, and comes back.

`predhub serve` and `predhub worker` run as processes against a server of the
trial's own while readers hammer the API and the worker ingests from the
simulator. The server is then stopped and started again, or every predhub
session on it is terminated. While it is away the API answers 200 from its
cache or a JSON 503 in the one error shape: never a 500, never a hang. Within
a bounded wait of its return the API answers 200 again, with no restart, and
the worker, still the same process, goes on until silver's trades equal the
simulator's truth: nothing lost, nothing stored twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from predhub.sim.testing import SimHandle, running_simulator
from scheduler.simtools import silver_trades, tiny_world, truth_trades

from .stack import (
    ReadLog,
    dedicated_server,
    free_port,
    migrated,
    predhub_process,
    read_paths,
    readers,
    restart,
    stack_env,
    wait_for_listener,
    wait_for_markets,
    wait_for_recovery,
    wait_until_ready,
)

SYNC_TIMEOUT_SECONDS = 120.0


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(tiny_world(kalshi_markets=60)) as handle:
        yield handle


async def wait_for_truth(url: str, sim: SimHandle, venue: str) -> int:
    """Wait (bounded) until silver's trades equal the truth for every market; trades held."""
    truth = truth_trades(sim, venue)
    deadline = time.monotonic() + SYNC_TIMEOUT_SECONDS
    differing: dict[str, tuple[int, int]] = {}
    while time.monotonic() < deadline:
        conn = await asyncpg.connect(url)
        try:
            stored = await silver_trades(conn, venue)
            held = {
                r["native_id"] for r in await conn.fetch("SELECT native_id FROM silver.markets")
            }
        finally:
            await conn.close()
        # every market silver holds must hold exactly the truth's trades (as the
        # SIGKILL trials compare); the venue lists only some of the truth's markets
        assert set(stored) <= held
        differing = {
            m: (sum(truth.get(m, {}).values()), sum(stored.get(m, {}).values()))
            for m in held
            if truth.get(m, {}) != stored.get(m, {})
        }
        duplicated = [m for m, c in stored.items() if any(n > 1 for n in c.values())]
        assert not duplicated, f"trades stored twice in {duplicated[:5]}"
        if held and not differing:
            return sum(sum(c.values()) for c in stored.values())
        await asyncio.sleep(1.0)
    raise AssertionError(f"silver never matched the truth; (truth, silver): {differing}")


def check_outage_answers(seen: ReadLog) -> None:
    assert not seen.server_errors, (
        f"server errors while the database was away: {seen.server_errors[:3]}"
    )
    assert not seen.hangs, f"reads that hung: {seen.hangs[:5]}"
    assert not seen.transport_errors, f"the API dropped connections: {seen.transport_errors[:3]}"
    for body in seen.unavailable_bodies:
        error = body["error"]
        assert isinstance(error, dict) and error["code"] == "database_unavailable", body
        assert "database" in str(error["message"])


async def terminate_predhub_sessions(url: str) -> int:
    """pg_terminate_backend of every session but this one; returns how many."""
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        )
    finally:
        await conn.close()


async def run_chaos(tmp_path: Path, sim: SimHandle, outage: str, cycles: int) -> None:
    with dedicated_server(tmp_path / "pg") as server:
        assert server.server is not None
        url = server.server.url
        await migrated(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = stack_env(url, sim, RATE_LIMIT_SCALE="0.3")
        with (
            predhub_process(["worker"], env, tmp_path / "worker.log") as worker,
            predhub_process(["serve", "--port", str(port)], env, tmp_path / "api.log") as api,
        ):
            await wait_until_ready(base, api)
            native_ids = await wait_for_markets(url, 5, worker=worker)
            paths = read_paths("kalshi", native_ids)
            async with readers(base, paths) as seen:
                for _ in range(cycles):
                    await asyncio.sleep(1.0)  # reads and ingestion under way
                    if outage == "restart":
                        server.stop()
                        await asyncio.sleep(3.0)  # the database is away; the readers go on
                        restart(server)
                    else:
                        assert await terminate_predhub_sessions(url) > 0
                    await wait_for_recovery(base, paths[2])
                    await wait_for_recovery(base, paths[0])
                    await wait_for_listener(base)
                    assert worker.alive(), f"the worker died:\n{worker.log()[-3000:]}"
                    assert api.alive(), f"the API died:\n{api.log()[-3000:]}"
            check_outage_answers(seen)
            assert seen.statuses[200] > 0
            assert await wait_for_truth(url, sim, "kalshi") > 0
            assert worker.alive(), f"the worker died:\n{worker.log()[-3000:]}"
            assert "Traceback" not in api.log(), api.log()[-3000:]
            assert "Traceback" not in worker.log(), worker.log()[-3000:]


async def test_database_restart_under_load(tmp_path: Path, sim: SimHandle) -> None:
    await run_chaos(tmp_path, sim, "restart", cycles=1)


async def test_terminated_sessions_under_load(tmp_path: Path, sim: SimHandle) -> None:
    await run_chaos(tmp_path, sim, "terminate", cycles=1)


@pytest.mark.slow
@pytest.mark.parametrize("outage", ["restart", "terminate"])
async def test_repeated_outages(tmp_path: Path, sim: SimHandle, outage: str) -> None:
    await run_chaos(tmp_path, sim, outage, cycles=5)
