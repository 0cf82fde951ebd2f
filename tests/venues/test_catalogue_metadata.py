"""Resolutions and metadata (pictures, venue tags) parsed from real recorded responses."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from predhub.models import MarketStatus
from predhub.venues.kalshi import parse as kalshi
from predhub.venues.limitless import parse as limitless
from predhub.venues.opinion import parse as opinion
from predhub.venues.polymarket import parse as polymarket

FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


def test_polymarket_resolution_after_a_dispute_names_winner_payouts_time_and_source() -> None:
    m = polymarket.parse_gamma_market(
        fixture("polymarket/argos/gamma_market_by_id_resolved_after_dispute.raw.json")
    )
    assert m.status is MarketStatus.RESOLVED and m.resolution is not None
    assert m.resolution.winning_outcome == 1
    assert m.resolution.payouts == [Decimal(0), Decimal(1)]
    assert m.resolution.source == "uma" and m.resolution.resolved_at is not None
    assert m.extra["image_url"].startswith("https://polymarket-upload.s3")
    assert m.extra["icon_url"].startswith("https://")


def test_polymarket_market_pictures() -> None:
    items = fixture("polymarket/argos/gamma_markets_list.raw.json")
    for item in items:
        m = polymarket.parse_gamma_market(item)
        assert m.extra["image_url"] == item["image"] and m.extra["icon_url"] == item["icon"]


def test_kalshi_settled_market_resolution() -> None:
    m = kalshi.parse_market(fixture("kalshi/feetball_money_maker/market_settled.json")["market"])
    assert m.status is MarketStatus.RESOLVED and m.resolution is not None
    assert (m.resolution.winning_outcome, m.resolution.is_void) == (1, False)
    assert m.resolution.payouts == [Decimal("0"), Decimal("1")]
    assert m.resolution.source == "settlement"
    assert m.resolution.resolved_at is not None
    assert m.resolution.resolved_at.isoformat().startswith("2026-09-26T22:45:06")


def test_kalshi_category_and_series_are_its_tags() -> None:
    _events, markets, errors, _cursor = kalshi.parse_events_page(
        fixture("kalshi/feetball_money_maker/events_nested.json"), "/events"
    )
    assert not errors and markets
    for m in markets:
        assert m.extra["venue_tags"] == [m.category, m.extra["series_ticker"]]


def test_limitless_categories_tags_and_pictures() -> None:
    item = fixture("limitless/ccxt_comment_market_clob_single.json")
    m = limitless.parse_market(item)
    assert m.extra["venue_tags"] == list(dict.fromkeys([*item["categories"], *item["tags"]]))
    assert m.extra["image_url"] == item["imageUrl"] and m.extra["icon_url"] == item["logo"]


def test_opinion_resolution_from_its_result_token() -> None:
    listing = fixture("opinion/market_list.json")["result"]["list"]
    resolved = [i for i in listing if i.get("resultTokenId")]
    assert resolved, "the recorded list holds a resolved market"
    for item in resolved:
        m = opinion.parse_market(item)
        assert m.resolution is not None and m.resolution.source == "result_token"
        winner = 0 if item["resultTokenId"] == item["yesTokenId"] else 1
        assert m.resolution.winning_outcome == winner
        assert m.resolution.payouts is not None and m.resolution.payouts[winner] == 1
