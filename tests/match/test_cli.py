"""`predhub match ...` end to end: a real process against PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import orjson

from predhub.service.testing import SeedMarket, seed_market
from predhub.venues.descriptor import venue_names

V1, V2 = venue_names()[0], venue_names()[1]


def _predhub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from predhub.cli import main; main()", *args],
        env={**os.environ, **env, "COLUMNS": "200", "LOG_JSON": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _line(a: str, b: str, relation: str = "same") -> bytes:
    return orjson.dumps(
        {
            "a": {"venue": V1, "market": a},
            "b": {"venue": V2, "market": b},
            "relation": relation,
            "decided_by": "alice",
        }
    )


async def test_import_names_the_bad_line_exits_2_and_writes_nothing(
    db_url: str, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    await seed_market(conn, SeedMarket(V1, "a", "Will Bitcoin be above $91,234 on March 5?"))
    await seed_market(conn, SeedMarket(V2, "b", "BTC price above 91234 on Mar 5, 2026?"))
    env = {"DATABASE_URL": db_url}
    bad = tmp_path / "pairs.jsonl"
    bad.write_bytes(_line("a", "b") + b"\n\n" + _line("a", "b", "twin") + b"\n")
    result = _predhub("match", "import", str(bad), env=env)
    assert result.returncode == 2, result.stderr
    assert "line 3" in result.stderr and "twin" in result.stderr
    assert "Traceback" not in result.stderr
    assert await conn.fetchval("SELECT count(*) FROM gold.market_matches") == 0

    missing = tmp_path / "missing.jsonl"
    missing.write_bytes(_line("a", "b") + b"\n" + _line("a", "nowhere") + b"\n")
    result = _predhub("match", "import", str(missing), env=env)
    assert result.returncode == 2
    assert "line 2" in result.stderr and "nowhere" in result.stderr
    assert await conn.fetchval("SELECT count(*) FROM gold.market_matches") == 0

    good = tmp_path / "good.jsonl"
    good.write_bytes(_line("a", "b") + b"\n")
    result = _predhub("match", "import", str(good), env=env)
    assert result.returncode == 0, result.stderr
    row = await conn.fetchrow("SELECT status, decided_by FROM gold.market_matches")
    assert (row["status"], row["decided_by"]) == ("confirmed", "alice")
