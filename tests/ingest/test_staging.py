"""The staging helper every bronze and silver writer shares, against a real PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest

from predhub.ingest.silver.common import (
    StagingTable,
    column_list,
    identifier,
    merge_staged,
    stage,
    tally,
)

_PROBE = StagingTable("ingest_probe_in", (("ord", "integer"), ("label", "text")))


@pytest.mark.parametrize(
    "name",
    ["x; DROP TABLE silver.markets", "Label", "a.b", "", "1st", "x y", 'q"'],
)
def test_only_plain_identifiers_reach_the_sql(name: str) -> None:
    with pytest.raises(AssertionError, match="not a plain SQL identifier"):
        identifier(name)
    with pytest.raises(AssertionError):
        column_list(["ok", name])
    with pytest.raises(AssertionError):
        StagingTable("ingest_probe_in", ((name, "text"),))


def test_staging_columns_need_plain_types() -> None:
    with pytest.raises(AssertionError, match="not a plain SQL type"):
        StagingTable("ingest_probe_in", (("ord", "integer) ; DROP TABLE x; --"),))
    table = StagingTable("ingest_probe_in", (("tags", "text[]"), ("at", "timestamptz")))
    assert table.column_names == ("tags", "at")
    assert table.ddl == "tags text[], at timestamptz"


def test_column_lists_are_prefixed() -> None:
    assert column_list(["a", "b"]) == "a, b"
    assert column_list(["a", "b"], "cur") == "cur.a, cur.b"


async def test_each_batch_sees_its_own_rows_only(conn: asyncpg.Connection) -> None:
    # The merge statement reads the staging table; a second batch in the same
    # transaction must not see the first one's rows.
    read_back = "SELECT ord, label FROM ingest_probe_in ORDER BY ord"
    async with conn.transaction():
        first = await merge_staged(conn, _PROBE, [(0, "a"), (1, "b")], read_back)
        second = await merge_staged(conn, _PROBE, [(0, "c")], read_back)
    assert [tuple(r) for r in first] == [(0, "a"), (1, "b")]
    assert [tuple(r) for r in second] == [(0, "c")]
    async with conn.transaction():
        await stage(conn, _PROBE, [])
        assert await conn.fetchval("SELECT count(*) FROM ingest_probe_in") == 0


async def test_tally_counts_unresolved_by_their_staged_position(conn: asyncpg.Connection) -> None:
    row = await conn.fetch(
        "SELECT 2 AS inserted, 1 AS updated, ARRAY[7]::bigint[] AS markets, ARRAY[3] AS unresolved"
    )
    batch = ["a", "b", "c", "d", "e"]
    result = tally(batch, row)
    assert (result.inserted, result.updated, result.unchanged) == (2, 1, 1)
    assert result.unresolved == ["d"] and result.markets == {7}
    books = await conn.fetch("SELECT 1 AS inserted, '{}'::int[] AS unresolved")
    result = tally(["a", "b"], books)
    assert (result.inserted, result.updated, result.unchanged, result.markets) == (1, 0, 1, set())
