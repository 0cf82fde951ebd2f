"""Exports on the real app and database: CSV, NDJSON and Parquet, by `format=` or `Accept`."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
import orjson
import pyarrow.parquet as pq
from api_support import assert_error

from predhub.db import partitions
from predhub.service.export import record_cut
from predhub.service.testing import SeedMarket, seed_market


async def _trades(conn: asyncpg.Connection, market_id: int, n: int) -> datetime:
    outcome = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", market_id
    )
    start = datetime(2026, 3, 1, tzinfo=UTC)
    await partitions.ensure(
        conn, partitions.TRADES, [start + timedelta(seconds=i) for i in range(n)]
    )
    await conn.executemany(
        "INSERT INTO silver.trades (venue, market_id, outcome_id, trade_key, price, size, side,"
        " executed_at) VALUES ('polymarket', $1, $2, $3, $4, $5, 'buy', $6)",
        [
            (
                market_id,
                outcome,
                f"k{i}",
                Decimal("0.5") + Decimal(i % 40) / 100,
                i + 1,
                start + timedelta(seconds=i),
            )
            for i in range(n)
        ],
    )
    return start


def test_record_cut_keeps_quoted_newlines_inside_records() -> None:
    assert record_cut(b'1,"a\nb"\n2,"c') == len(b'1,"a\nb"\n')
    assert record_cut(b'1,"a\nb') == 0
    assert record_cut(b"1,a\n2,b\n") == 8


async def test_trades_in_every_format(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="t", synced_ago=1))
    start = await _trades(conn, mid, 250)
    url = f"/v1/markets/{mid}/trades"

    as_csv = await client.get(url, params={"format": "csv"})
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "trades-" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == 250  # every trade, not one page
    assert rows[0]["trade_key"] == "k249"  # newest first, like the JSON pages
    assert rows[0]["executed_at"] == (start + timedelta(seconds=249)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )

    as_ndjson = await client.get(url, headers={"accept": "application/x-ndjson"})
    assert as_ndjson.headers["content-type"] == "application/x-ndjson"
    lines = [orjson.loads(line) for line in as_ndjson.content.splitlines()]
    assert len(lines) == 250 and lines[-1]["trade_key"] == "k0"
    assert lines[-1]["price"] == 0.5 and lines[-1]["size"] == 1.0

    as_parquet = await client.get(url, params={"format": "parquet"})
    assert as_parquet.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.num_rows == 250
    assert str(table.schema.field("executed_at").type) == "timestamp[us, tz=UTC]"
    assert table.column("trade_key").to_pylist()[:2] == ["k249", "k248"]
    assert table.column("executed_at")[0].as_py() == start + timedelta(seconds=249)

    json_page = await client.get(url, params={"limit": 10})  # JSON stays paged
    assert len(json_page.json()["data"]) == 10

    head = await client.head(url, params={"format": "parquet"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "application/vnd.apache.parquet"

    bad = await client.get(url, params={"format": "xlsx"})
    assert_error(bad, 422, "invalid_request")
    for name in ("json", "csv", "ndjson", "parquet"):
        assert name in bad.json()["error"]["message"]


async def test_csv_export_is_compressed_as_it_streams(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="z", synced_ago=1))
    await _trades(conn, mid, 100)
    plain = await client.get(f"/v1/markets/{mid}/trades?format=csv")
    packed = await client.get(
        f"/v1/markets/{mid}/trades?format=csv", headers={"accept-encoding": "gzip"}
    )
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.text == plain.text  # httpx decoded it


async def test_market_list_export_has_one_row_per_outcome(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    for i in range(3):
        await seed_market(
            conn,
            SeedMarket(
                native_id=f"m{i}",
                question=f'Line one "{i}"\nline two',
                volume_24h=100 + i,
                synced_ago=1,
            ),
        )
    parquet = await client.get("/v1/markets", params={"format": "parquet"})
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == 6  # three markets, two outcomes each: every match without a limit
    assert table.column("question").to_pylist()[0] == 'Line one "2"\nline two'
    assert table.column("outcome_label").to_pylist()[:2] == ["Yes", "No"]
    as_csv = await client.get("/v1/markets", headers={"accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["outcome"] for r in rows] == ["0", "1"] * 3
    assert rows[0]["question"] == 'Line one "2"\nline two'


async def test_market_list_export_keeps_the_asked_limit(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    """`limit` caps an export's markets (it was ignored); `cursor` starts it after a page."""
    for i in range(4):
        await seed_market(conn, SeedMarket(native_id=f"l{i}", volume_24h=100 + i, synced_ago=1))
    as_csv = await client.get("/v1/markets", params={"format": "csv", "limit": 2})
    assert as_csv.status_code == 200, as_csv.text
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["native_id"] for r in rows] == ["l3", "l3", "l2", "l2"]  # two markets, busiest first
    first = (await client.get("/v1/markets", params={"limit": 1})).json()
    after = await client.get(
        "/v1/markets", params={"format": "ndjson", "limit": 2, "cursor": first["next_cursor"]}
    )
    lines = [orjson.loads(line) for line in after.content.splitlines()]
    assert [line["native_id"] for line in lines] == ["l2", "l2", "l1", "l1"]
    everything = await client.get("/v1/markets", params={"format": "csv"})
    assert len(list(csv.DictReader(io.StringIO(everything.text)))) == 8


async def test_candles_export(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    mid = await seed_market(conn, SeedMarket(native_id="c", synced_ago=1))
    json_answer = await client.get(f"/v1/markets/{mid}/history", params={"fill": "true"})
    exported = await client.get(
        f"/v1/markets/{mid}/history", params={"fill": "true", "format": "ndjson"}
    )
    assert exported.status_code == 200
    lines = [orjson.loads(line) for line in exported.content.splitlines()]
    assert len(lines) == len(json_answer.json()["candles"])
