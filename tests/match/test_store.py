"""The matcher against a real PostgreSQL: proposals, decisions that survive, incremental runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from predhub.match.errors import PairsFileError
from predhub.match.exchange import export_confirmed, import_confirmed, parse_export
from predhub.match.pairs import load_markets, parse_pairs, score
from predhub.match.run import MatchConfig, run
from predhub.service.errors import MatchAlreadyDecided, MatchNotFound
from predhub.service.matches import MatchReader
from predhub.service.testing import SeedMarket, seed_market
from predhub.venues.descriptor import venue_names

PAIRS = Path(__file__).parent.parent / "fixtures" / "matching" / "pairs.jsonl"
CONFIG = MatchConfig(venues=tuple(venue_names()))
END = datetime(2026, 3, 5, 20, tzinfo=UTC)
V1, V2 = venue_names()[0], venue_names()[1]


async def _seed(conn: asyncpg.Connection) -> dict[str, int]:
    rows = {
        "a": SeedMarket(V1, "a", "Will Bitcoin be above $91,234 on March 5?", end_at=END),
        "b": SeedMarket(V2, "b", "BTC price above 91234 on Mar 5, 2026?", end_at=END),
        "c": SeedMarket(V2, "c", "BTC price above 93515 on Mar 5, 2026?", end_at=END),
        "d": SeedMarket(V2, "d", "Will Alex Okafor win the 2026 Norland election?", end_at=END),
        "e": SeedMarket(V1, "e", "Norland election 2026: Alex Okafor does not win?", end_at=END),
    }
    return {k: await seed_market(conn, m) for k, m in rows.items()}


async def _matches(conn: asyncpg.Connection) -> dict[tuple[int, int], asyncpg.Record]:
    rows = await conn.fetch("SELECT * FROM gold.market_matches")
    return {(r["market_a"], r["market_b"]): r for r in rows}


async def test_a_full_run_proposes_same_inverse_and_subset(conn: asyncpg.Connection) -> None:
    ids = await _seed(conn)
    report = await run(conn, CONFIG, now=datetime.now(UTC), full=True)
    found = await _matches(conn)
    assert found[(ids["a"], ids["b"])]["relation"] == "same"
    assert found[(ids["d"], ids["e"])]["relation"] == "inverse"
    c = found[(ids["a"], ids["c"])]
    assert c["relation"] == "superset"  # above 91,234 is implied by above 93,515
    assert report.proposed == len(found)
    assert found[(ids["a"], ids["b"])]["outcome_a"] is not None


async def test_decisions_survive_recomputation(
    conn: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    ids = await _seed(conn)
    await run(conn, CONFIG, now=datetime.now(UTC), full=True)
    found = await _matches(conn)
    reader = MatchReader(pool)
    same = found[(ids["a"], ids["b"])]["id"]
    inverse = found[(ids["d"], ids["e"])]["id"]
    await reader.decide(same, "reject", "alice", "wrong index")
    await reader.decide(inverse, "confirm", "alice")
    # the pair stops looking alike: the matcher no longer proposes it, the decision stays
    await conn.execute(
        "UPDATE silver.markets SET question = 'Will it snow in Lakeside?' WHERE id = $1", ids["b"]
    )
    await conn.execute(
        "UPDATE silver.markets SET question = 'Will it rain in Sunvale?' WHERE id = $1", ids["e"]
    )
    await run(conn, CONFIG, now=datetime.now(UTC) + timedelta(seconds=1))
    await run(conn, CONFIG, now=datetime.now(UTC) + timedelta(seconds=2), full=True)
    after = await _matches(conn)
    assert after[(ids["a"], ids["b"])]["status"] == "rejected"
    assert after[(ids["a"], ids["b"])]["decided_by"] == "alice"
    assert "wrong index" in after[(ids["a"], ids["b"])]["notes"]
    assert after[(ids["d"], ids["e"])]["status"] == "confirmed"
    assert after[(ids["d"], ids["e"])]["relation"] == "inverse"


async def test_a_proposal_that_no_longer_holds_is_dropped(conn: asyncpg.Connection) -> None:
    ids = await _seed(conn)
    await run(conn, CONFIG, now=datetime.now(UTC), full=True)
    assert (ids["a"], ids["b"]) in await _matches(conn)
    await conn.execute(
        "UPDATE silver.markets SET question = 'Will it snow in Lakeside?' WHERE id = $1", ids["b"]
    )
    report = await run(conn, CONFIG, now=datetime.now(UTC) + timedelta(seconds=1))
    assert report.markets == 1
    assert (ids["a"], ids["b"]) not in await _matches(conn)
    assert (ids["d"], ids["e"]) in await _matches(conn)


async def test_deciding_twice_conflicts_and_unknown_is_not_found(
    pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    ids = await _seed(conn)
    await run(conn, CONFIG, now=datetime.now(UTC), full=True)
    match_id = (await _matches(conn))[(ids["a"], ids["b"])]["id"]
    reader = MatchReader(pool)
    doc = await reader.decide(match_id, "confirm", "alice")
    assert doc["status"] == "confirmed" and doc["decided_by"] == "alice"
    with pytest.raises(MatchAlreadyDecided, match="alice"):
        await reader.decide(match_id, "reject", "bob")
    assert (await reader.decide(match_id, "reject", "alice"))["status"] == "rejected"
    with pytest.raises(MatchNotFound):
        await reader.decide(10**12, "confirm", "alice")


async def test_export_and_import_round_trip(conn: asyncpg.Connection, db_url: str) -> None:
    ids = await _seed(conn)
    await run(conn, CONFIG, now=datetime.now(UTC), full=True)
    await conn.execute(
        "UPDATE gold.market_matches SET status = 'confirmed', decided_by = 'alice', decided_at = now() WHERE market_a = $1 AND market_b = $2",
        ids["a"],
        ids["b"],
    )
    exported = await export_confirmed(conn)
    assert [(e["a"]["market"], e["b"]["market"], e["relation"]) for e in exported] == [
        ("a", "b", "same")
    ]
    await conn.execute("DELETE FROM gold.market_matches")
    import orjson

    entries = parse_export([orjson.dumps(e).decode() for e in exported])
    assert await import_confirmed(conn, entries) == 1
    again = await export_confirmed(conn)
    assert [(e["a"], e["b"], e["relation"], e["decided_by"]) for e in again] == [
        (e["a"], e["b"], e["relation"], e["decided_by"]) for e in exported
    ]


async def test_an_import_with_a_bad_line_names_it_and_writes_nothing(
    conn: asyncpg.Connection,
) -> None:
    await _seed(conn)
    good = f'{{"a": {{"venue": "{V1}", "market": "a"}}, "b": {{"venue": "{V2}", "market": "b"}}, "relation": "same"}}'
    with pytest.raises(PairsFileError, match="line 2"):
        parse_export([good, '{"a": 1}'])
    missing = f'{{"a": {{"venue": "{V1}", "market": "a"}}, "b": {{"venue": "{V2}", "market": "zz"}}, "relation": "same"}}'
    with pytest.raises(PairsFileError, match="line 2: no market"):
        await import_confirmed(conn, parse_export([good, missing]))
    assert await conn.fetchval("SELECT count(*) FROM gold.market_matches") == 0


def test_a_pairs_file_with_a_bad_line_names_it() -> None:
    lines = [*PAIRS.read_text().splitlines()[:3], '{"id": "x", "label": "maybe"}']
    with pytest.raises(PairsFileError, match="line 4: label 'maybe'"):
        parse_pairs(lines, venue_names())


async def test_the_shared_labelled_pairs_meet_the_goals(conn: asyncpg.Connection) -> None:
    """All markets of the file matched together, scored at the review threshold."""
    pairs = parse_pairs(PAIRS.read_text().splitlines(), venue_names())
    ids = await load_markets(conn, pairs)
    await run(conn, CONFIG, now=datetime.now(UTC), full=True)
    result = await score(conn, pairs, ids, 0.7)
    for label in ("same", "inverse"):
        assert result.precision(label) >= 0.90, (label, result.mistakes)
        assert result.recall(label) >= 0.80, (label, result.mistakes)
    assert result.false_match_rate() <= 0.10


async def test_a_seeded_markets_extra_is_stored_and_read_as_its_yes_label(
    conn: asyncpg.Connection,
) -> None:
    """A bracket's YES label lives in `extra`, so seeded markets must carry it to silver."""
    a = await seed_market(
        conn,
        SeedMarket(
            V1,
            "ladder",
            "Bitcoin above ___ on March 5?",
            end_at=END,
            extra={"yes_sub_title": "$91,234"},
        ),
    )
    assert (
        await conn.fetchval("SELECT extra ->> 'yes_sub_title' FROM silver.markets WHERE id = $1", a)
        == "$91,234"
    )
