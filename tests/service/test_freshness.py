"""The pure parts: the freshness decision, tier resolution, payload rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from predhub.service.errors import BadRequest, UnknownTier
from predhub.service.freshness import CacheState, Decision, decide
from predhub.service.payload import Snapshot, answer_fields, render, render_map
from predhub.service.tiers import resolve_freshness

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TIERS = {"T1": 30.0, "T2a": 2.0, "T2b": 15.0, "T3": 120.0, "T4": 900.0}


@pytest.mark.parametrize(
    ("status", "age", "max_age", "database_only", "expected"),
    [
        ("open", 1.0, 2.0, False, Decision.SERVE),
        ("open", 3.0, 2.0, False, Decision.REFRESH),
        ("open", None, 900.0, False, Decision.REFRESH),
        ("open", 3.0, 2.0, True, Decision.SERVE_STALE),
        ("closed", 10_000.0, 0.0, False, Decision.SERVE),
        ("resolved", None, 0.0, False, Decision.SERVE),
        ("voided", None, 0.0, False, Decision.SERVE),
        ("open", 2.0, 2.0, False, Decision.SERVE),
    ],
)
def test_decide(
    status: str, age: float | None, max_age: float, database_only: bool, expected: Decision
) -> None:
    synced = None if age is None else NOW - timedelta(seconds=age)
    got = decide(
        status=status, synced_at=synced, now=NOW, max_age=max_age, database_only=database_only
    )
    assert got is expected


def test_tiers_resolve_by_name_alias_and_max_age() -> None:
    assert resolve_freshness(TIERS, "t2a", None).max_age == 2.0
    assert resolve_freshness(TIERS, "execution", None).tier == "T1"
    assert resolve_freshness(TIERS, None, None).tier == "T3"
    custom = resolve_freshness(TIERS, None, 5)
    assert (custom.tier, custom.max_age) == ("custom", 5.0)
    both = resolve_freshness(TIERS, "T4", 1)
    assert (both.tier, both.max_age) == ("T4", 1.0)


def test_unknown_tier_and_negative_max_age_are_bad_requests() -> None:
    with pytest.raises(UnknownTier, match="T9"):
        resolve_freshness(TIERS, "T9", None)
    with pytest.raises(BadRequest, match="non-negative"):
        resolve_freshness(TIERS, None, -1)
    with pytest.raises(BadRequest):
        resolve_freshness(TIERS, None, float("nan"))


def _row(**kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 7,
        "venue": "kalshi",
        "native_id": "KX-1",
        "condition_id": None,
        "ticker": "KX-1",
        "slug": None,
        "question": "Q?",
        "status": "open",
        "event_id": None,
        "event_title": None,
        "category": None,
        "end_at": None,
        "volume_24h": None,
        "volume_total": None,
        "liquidity": None,
        "winning_outcome": None,
        "is_void": False,
        "resolved_at": None,
        "quotes_synced_at": NOW,
        "as_of": NOW,
        "outcomes": [{"index": 0, "label": "Yes", "token_id": None, "price": 0.25}],
    }
    row.update(kw)
    return row


def test_render_appends_request_fields_to_the_cached_body() -> None:
    snap = Snapshot.from_row(_row())
    fields = answer_fields(
        tier="T1",
        max_age=30,
        cache=CacheState.STALE,
        stale_reason="venue down",
        synced_at=NOW - timedelta(seconds=40),
        now=NOW,
    )
    doc = orjson.loads(render(snap, fields))
    assert doc["id"] == 7
    assert doc["outcomes"][0]["price"] == 0.25
    assert doc["as_of"] == NOW.isoformat()
    assert doc["stale"] is True and doc["cache"] == "stale"
    assert doc["stale_reason"] == "venue down"
    assert doc["age"] == 40.0
    both = orjson.loads(render_map([("a", b"1"), ('q"x', b"[2]")]))
    assert both == {"a": 1, 'q"x': [2]}


def test_a_replica_read_counts_the_replicas_lag_in_its_age() -> None:
    def fields(synced_ago: float | None, view_ago: float | None) -> dict[str, object]:
        return answer_fields(
            tier="T3",
            max_age=120,
            cache=CacheState.HIT,
            stale_reason=None,
            synced_at=None if synced_ago is None else NOW - timedelta(seconds=synced_ago),
            now=NOW,
            view_as_of=None if view_ago is None else NOW - timedelta(seconds=view_ago),
        )

    assert fields(40, None)["replica_lag"] is None and fields(40, None)["age"] == 40.0
    # a replica 3 s behind: the row's own age already exceeds it
    assert fields(40, 3) == {**fields(40, None), "replica_lag": 3.0}
    # a row the clocks put after the replica's view: the lag bounds the age from below
    assert fields(1, 3)["age"] == 3.0 and fields(1, 3)["replica_lag"] == 3.0
    assert fields(None, 3)["age"] == 3.0


def test_resolution_block_only_for_settled_markets() -> None:
    assert Snapshot.from_row(_row()).document["resolution"] is None
    settled = Snapshot.from_row(
        _row(
            status="resolved",
            winning_outcome=1,
            resolved_at=NOW,
            payouts="[0, 1]",
            resolution_source="settlement",
        )
    )
    assert settled.document["resolution"] == {
        "winning_outcome": 1,
        "is_void": False,
        "payouts": [0.0, 1.0],
        "resolved_at": NOW.isoformat(),
        "source": "settlement",
    }
