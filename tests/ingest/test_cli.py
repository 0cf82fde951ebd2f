"""`predhub ingest ...` end to end: a real process, the simulator and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg

from predhub.sim.testing import SimHandle


def _predhub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from predhub.cli import main; main()", *args],
        env={**os.environ, **env, "COLUMNS": "200", "LOG_JSON": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_static_then_delta_print_summaries(
    sim: SimHandle, db_url: str, conn: asyncpg.Connection
) -> None:
    env = {**sim.env, "DATABASE_URL": db_url}
    static = _predhub("ingest", "static", "kalshi", env=env)
    assert static.returncode == 0, static.stderr
    for figure in ("fetched", "inserted", "updated", "unchanged", "quarantined", "requests"):
        assert figure in static.stdout
    held = await conn.fetchval("SELECT count(*) FROM silver.markets WHERE venue = 'kalshi'")
    assert held == sum(
        1 for m in sim.truth(venue="kalshi", trades=False)["markets"] if m["status"] == "open"
    )

    delta = _predhub("ingest", "delta", "kalshi", "-v", env=env)
    assert delta.returncode == 0, delta.stderr
    assert "delta load of kalshi" in delta.stdout
    kinds = await conn.fetch("SELECT kind, status FROM ops.loads ORDER BY id")
    assert [(r["kind"], r["status"]) for r in kinds] == [("static", "done"), ("delta", "done")]


def test_unknown_venue_and_unreachable_database_are_one_line(sim: SimHandle) -> None:
    env = {**sim.env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    unknown = _predhub("ingest", "static", "nowhere", env=env)
    assert unknown.returncode == 2
    assert "unknown venue" in unknown.stderr and "Traceback" not in unknown.stderr
    down = _predhub("ingest", "delta", "polymarket", env=env)
    assert down.returncode == 2
    assert "cannot connect to the database" in down.stderr and "Traceback" not in down.stderr
