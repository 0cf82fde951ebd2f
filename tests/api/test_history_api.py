"""Price history through the API: changes in market documents and sorts, candles, ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
from api_support import assert_error

from predhub.db import partitions
from predhub.gold.history import rollup
from predhub.service.testing import SeedMarket, seed_market
from predhub.settings import Settings


async def _points(
    conn: asyncpg.Connection, market_id: int, points: list[tuple[datetime, float]]
) -> None:
    outcome_id = await conn.fetchval(
        "SELECT id FROM silver.outcomes WHERE market_id = $1 AND idx = 0", market_id
    )
    await partitions.ensure(conn, partitions.PRICE_HISTORY, [ts for ts, _ in points])
    await conn.executemany(
        "INSERT INTO silver.price_history (outcome_id, ts, price, source) VALUES ($1, $2, $3, 'quote')",
        [(outcome_id, ts, Decimal(str(p))) for ts, p in points],
    )


async def _world(conn: asyncpg.Connection, now: datetime) -> dict[str, int]:
    """Three markets: one rose 10 points in a day, one fell 20, one has no history."""
    ids = {}
    for n, (name, end_days) in enumerate((("up", 3), ("down", 1), ("flat", 2))):
        ids[name] = await seed_market(
            conn,
            SeedMarket(
                native_id=name,
                question=f"Will {name} happen?",
                volume_24h=1000 * (n + 1),
                end_at=now + timedelta(days=end_days),
                synced_ago=5,
            ),
        )
    day_ago = now - timedelta(hours=25)
    await _points(
        conn, ids["up"], [(day_ago, 0.40), (now - timedelta(minutes=30), 0.45), (now, 0.50)]
    )
    await _points(
        conn, ids["down"], [(day_ago, 0.70), (now - timedelta(minutes=90), 0.60), (now, 0.50)]
    )
    return ids


async def test_changes_are_fields_and_sorts_both_ways(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ids = await _world(conn, now)
    report = await rollup(conn, Settings(), now=now, force=True)
    assert report.ran and report.markets == {ids["up"], ids["down"]}

    up = (await client.get(f"/v1/markets/{ids['up']}")).json()
    assert up["change_24h"] == 0.1 and up["change_1h"] == 0.1 and up["change_7d"] is None
    down = (await client.get(f"/v1/markets/{ids['down']}")).json()
    assert down["change_24h"] == -0.2 and down["change_1h"] == -0.1
    flat = (await client.get(f"/v1/markets/{ids['flat']}")).json()
    assert flat["change_24h"] is None

    async def order(sort: str, limit: int = 50) -> list[int]:
        out: list[int] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"sort": sort, "limit": limit}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/markets", params=params)).json()
            out += [m["id"] for m in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                return out

    # unknown changes last in both directions; pages of one agree with one page
    assert await order("change_24h") == [ids["up"], ids["down"], ids["flat"]]
    assert await order("-change_24h") == [ids["down"], ids["up"], ids["flat"]]
    assert await order("-change_24h", limit=1) == [ids["down"], ids["up"], ids["flat"]]
    # one name for the field and the sort; the old sort name still works
    assert await order("end_at") == [ids["down"], ids["flat"], ids["up"]]
    assert await order("end_date") == await order("end_at")
    assert await order("-end_at", limit=1) == [ids["up"], ids["flat"], ids["down"]]
    assert await order("-volume_24h") == [ids["up"], ids["down"], ids["flat"]]
    bad = await client.get("/v1/markets", params={"sort": "change_1y"})
    assert bad.status_code == 422 and "change_24h" in bad.text


async def test_candles_ranges_fill_and_errors(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    mid = await seed_market(conn, SeedMarket(native_id="c", question="Candles?", synced_ago=5))
    # a point each minute from 10:00 to 10:59 rising by 0.001, then nothing for an hour
    base = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    await _points(
        conn, mid, [(base + timedelta(minutes=i), round(0.5 + i / 1000, 3)) for i in range(60)]
    )
    await rollup(conn, Settings(), now=now, force=True)

    async def get(**params: str) -> httpx.Response:
        return await client.get(
            f"/v1/markets/{mid}/history", params={"end": now.isoformat(), **params}
        )

    one = (await get(interval="1m")).json()  # the default range of 1m: 6 hours
    assert one["start"] == "2026-03-02T06:00:00+00:00" and len(one["candles"]) == 60
    five = (await get(interval="5m", range="6h")).json()
    assert [c["open"] for c in five["candles"][:2]] == [0.5, 0.505]
    assert [c["close"] for c in five["candles"][:2]] == [0.504, 0.509]
    fifteen = (await get(interval="15m", range="6h")).json()
    assert [(c["open"], c["high"], c["low"], c["close"]) for c in fifteen["candles"]] == [
        (0.5, 0.514, 0.5, 0.514),
        (0.515, 0.529, 0.515, 0.529),
        (0.53, 0.544, 0.53, 0.544),
        (0.545, 0.559, 0.545, 0.559),
    ]
    hourly = (await get(interval="1h", range="1d")).json()
    assert [(c["t"], c["open"], c["close"], c["points"]) for c in hourly["candles"]] == [
        ("2026-03-02T10:00:00+00:00", 0.5, 0.559, 60)
    ]
    four = (await get(interval="4h", range="1d")).json()
    assert [(c["t"], c["high"]) for c in four["candles"]] == [("2026-03-02T08:00:00+00:00", 0.559)]
    daily = (await get(interval="1d", range="30d")).json()
    assert [c["low"] for c in daily["candles"]] == [0.5]
    # filled: every hour from the first price on, gaps at the last close with no volume
    filled = (await get(interval="1h", range="1d", fill="true")).json()
    assert [(c["t"][11:16], c["close"], c["volume"], c["points"]) for c in filled["candles"]] == [
        ("10:00", 0.559, 0, 60),
        ("11:00", 0.559, 0, 0),
    ]

    assert_error(await get(interval="2m"), 422)
    assert "1m" in (await get(interval="2m")).text and "4h" in (await get(interval="2m")).text
    assert "7d" in (await get(interval="1h", range="2w")).text
    too_big = await get(interval="1m", range="7d")
    assert_error(too_big, 400, "range_too_large")
    assert "at most 1d" in too_big.json()["error"]["message"]
    both = await get(interval="1m", range="1h", start="2026-03-02T11:00:00Z")
    assert_error(both, 400, "bad_request")
