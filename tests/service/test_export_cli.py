"""`predhub export` on a real database: files per slice, resume, readable by Arrow, pandas, polars."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from predhub.db import partitions
from predhub.service.testing import SeedMarket, seed_market


def _export(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "predhub", "export", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _seed(conn: asyncpg.Connection) -> int:
    mid = await seed_market(conn, SeedMarket(native_id="x", question='Two\nlines, "quoted"'))
    outcome = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 1", mid
    )
    start = datetime(2026, 3, 1, tzinfo=UTC)
    await partitions.ensure(conn, partitions.TRADES, [start])
    await conn.executemany(
        "INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size,"
        " executed_at) VALUES ('polymarket', $1, $2, $3, 0.25, $4, $5)",
        [(mid, outcome, f"k{i}", Decimal(i), start + timedelta(hours=i)) for i in range(72)],
    )
    return mid


async def test_trades_export_by_day_resumes_and_reads_back(
    db_url: str, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    mid = await _seed(conn)
    out = tmp_path / "trades"
    args = ("trades", str(out), "--venue", "polymarket", "--since", "2026-03-01")
    done = _export(db_url, *args, "--until", "2026-03-04")
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.parquet"))
    assert len(files) == 3 and "72 rows in 3 new file(s)" in done.stderr

    table = pq.read_table(out)
    assert table.num_rows == 72
    assert sorted(table.column("trade_key").to_pylist()) == sorted(f"k{i}" for i in range(72))
    assert set(table.column("outcome").to_pylist()) == {1}
    assert set(table.column("market_id").to_pylist()) == {mid}
    frame = pd.read_parquet(out)
    assert len(frame) == 72 and str(frame["executed_at"].dt.tz) == "UTC"
    assert pl.read_parquet(str(out / "*.parquet"))["size"].sum() == sum(range(72))

    # An interrupted run left a partial slice: the next run redoes only what is missing.
    files[1].rename(files[1].with_name(files[1].name + ".part"))
    again = _export(db_url, *args, "--until", "2026-03-04")
    assert again.returncode == 0, again.stderr
    assert "24 rows in 1 new file(s), 2 already there" in again.stderr
    assert pq.read_table(out).num_rows == 72

    as_csv = _export(db_url, *args, "--until", "2026-03-02", "--format", "csv")
    assert as_csv.returncode == 0
    assert len(pd.read_csv(next(out.glob("*.csv")))) == 24


async def test_markets_export_and_bad_arguments(
    db_url: str, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    await _seed(conn)
    done = _export(db_url, "markets", str(tmp_path), "--venue", "polymarket")
    assert done.returncode == 0, done.stderr
    table = pq.read_table(tmp_path / "markets-polymarket.parquet")
    assert table.column("question").to_pylist() == ['Two\nlines, "quoted"'] * 2

    for args, says in [
        (("markets", str(tmp_path), "--venue", "nowhere"), "one of"),
        (("trades", str(tmp_path), "--venue", "polymarket"), "needs --since"),
        (("trades", str(tmp_path), "--venue", "polymarket", "--since", "soon"), "ISO date"),
        (
            (
                "trades",
                str(tmp_path),
                "--venue",
                "polymarket",
                "--since",
                "2026-03-02",
                "--until",
                "2026-03-01",
            ),
            "is not before",
        ),
        (("markets", str(tmp_path), "--venue", "polymarket", "--format", "xlsx"), "parquet"),
        (("votes", str(tmp_path), "--venue", "polymarket"), "trades, markets, history"),
    ]:
        bad = _export(db_url, *args)
        assert bad.returncode == 2, (args, bad.stderr)
        assert says in bad.stderr, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
