"""The helpers several venue adapters share: each behaves as the copies it replaced."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from predhub.models import DataError, Event, Market, RawResponse
from predhub.venues.normalize import (
    ItemInvalid,
    fetched_from,
    finest_interval,
    key_id,
    parse_grouped_page,
)

NOW = datetime(2026, 9, 21, 14, 0, tzinfo=UTC)
INTERVALS = ((60, "1m"), (3600, "1h"), (86400, "1d"))


@pytest.mark.parametrize(
    ("seconds", "name"),
    [(1, "1m"), (60, "1m"), (61, "1h"), (3600, "1h"), (86400, "1d"), (86401, "max")],
)
def test_finest_interval_is_never_finer_than_asked(seconds: int, name: str) -> None:
    assert finest_interval(seconds, INTERVALS, "max") == name


def _event(native_id: str) -> Event:
    return Event(venue="v", native_id=native_id, title=native_id)


def _market(native_id: str) -> Market:
    return Market(venue="v", native_id=native_id, question=native_id, outcomes=[])


def _entry(item: Any) -> tuple[Event | None, list[Market], list[DataError]]:
    """A group holds markets and reports a bad child; a plain entry is one market."""
    if item["id"] == "bad":
        raise ItemInvalid("broken entry")
    if item.get("group"):
        child_error = DataError("v", "/child", "c9", "bad child", {}, None)
        return _event(item["id"]), [_market("c1"), _market("c2")], [child_error]
    return None, [_market(item["id"])], []


def test_grouped_page_keeps_the_good_entries_and_dates_child_errors_to_the_page() -> None:
    items = [{"id": "g", "group": True}, {"id": "m"}, {"id": "bad"}]
    events, markets, errors = parse_grouped_page("v", "/list", items, _entry, key_id("id"))
    assert [e.native_id for e in events] == ["g"]
    assert [m.native_id for m in markets] == ["c1", "c2", "m"]
    assert [(e.item_id, e.endpoint) for e in errors] == [("bad", "/list"), ("c9", "/list")]


def _raw(body: Any) -> RawResponse:
    return RawResponse("v", "/one", {}, 200, NOW, body)


def test_fetched_from_points_items_and_errors_at_their_response() -> None:
    raw = _raw({"id": "m"})
    error = DataError("v", "/one", "x", "odd", {}, None)
    out = fetched_from("v", "/one", raw.body, raw, lambda: ([_market("m")], [error]))
    assert out.raw == [raw]
    assert [m.native_id for m in out.items] == ["m"]
    assert out.items[0].raw is raw and out.errors == [error] and error.raw is raw


def test_fetched_from_keeps_a_response_of_the_wrong_shape_as_one_error() -> None:
    raw = _raw([])

    def broken() -> tuple[list[Market], list[DataError]]:
        raise ItemInvalid("not an object")

    out = fetched_from("v", "/one", raw.body, raw, broken)
    assert out.items == [] and out.raw == [raw]
    assert [(e.endpoint, e.reason, e.raw) for e in out.errors] == [
        ("/one", "page: not an object", raw)
    ]
