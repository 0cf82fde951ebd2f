"""Fuzzing every venue parser with broken versions of the recorded pages.

Each target is a page parser exactly as its adapter calls it, seeded with a
real recorded page; hypothesis breaks the page (`mutations.mutated`) and the
parser must either return or raise the project's typed data error
(`ItemInvalid`, or Opinion's `EnvelopeError` for a refused request), which
the adapters turn into quarantined `DataError`s. Whatever it returns must
then pass through ingestion's own checks without raising, as it would on
its way to silver. The WebSocket decoder also gets truncated text.

The default run keeps examples low; `-m slow` runs the long profile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predhub.ingest import validate
from predhub.models import DataError, Event, Market, OrderBook, PricePoint, Quote, Trade
from predhub.venues.kalshi import parse as kalshi
from predhub.venues.limitless import parse as limitless
from predhub.venues.normalize import ItemInvalid, key_id, page_list, parse_page
from predhub.venues.opinion import parse as opinion
from predhub.venues.polymarket import parse as polymarket
from predhub.venues.polymarket.stream import decode

from .mutations import mutated, truncated_text

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = datetime(2026, 9, 26, tzinfo=UTC)
TYPED = (ItemInvalid, opinion.EnvelopeError)
QUICK = 40
LONG = 1000


def _load(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text())


def _page(items: Any, parser: Callable[[Any], Any], ids: str = "id") -> Any:
    """The adapters' page reading: a list body, each bad item a DataError."""
    return parse_page("v", "/e", page_list(items, None), parser, key_id(ids))


def _checked(result: Any) -> None:
    """Ingestion's per-item checks over whatever a parser returned: they must not raise."""
    if isinstance(result, list | tuple):
        for part in result:
            _checked(part)
        return
    check: Callable[[Any], str | None] | None = {
        Event: validate.check_event,
        Market: validate.check_market,
        Quote: validate.check_quote,
        Trade: validate.check_trade,
        PricePoint: validate.check_point,
        OrderBook: validate.check_book,
    }.get(type(result))
    if check is not None:
        problem = check(result)
        assert problem is None or isinstance(problem, str)
    if isinstance(result, Market):
        _checked(kalshi.quotes_from_market(result, NOW))
        _checked(limitless.quotes_from_market(result, NOW))
    if isinstance(result, OrderBook):
        _checked(result.quote())
        _checked(opinion.mid_of(result))
    if isinstance(result, DataError):
        assert isinstance(result.reason, str) and result.reason


def _subscribed() -> dict[str, tuple[str, int]]:
    """The tokens the recorded session subscribed to, plus the recorded trade's token."""
    session = _load("polymarket/argos/ws_market_channel_session.excerpt.json")
    ids = [*session["connect"]["subscribe_sent"]["assets_ids"]]
    ids.append(_load("polymarket/argos/ws_last_trade_price.raw.json")["asset_id"])
    return {str(t): ("m", i) for i, t in enumerate(ids)}


TOKENS = _subscribed()


def _ws(message: Any) -> Any:
    return polymarket.parse_ws_message(message, TOKENS, NOW)


@dataclass(frozen=True)
class Target:
    """One parser entry point and the recorded page it is seeded with."""

    name: str
    fixture: str
    call: Callable[[Any], Any]
    pick: Callable[[Any], Any] = lambda doc: doc
    raises: tuple[type[Exception], ...] = TYPED


def _ws_messages(doc: Any) -> list[Any]:
    """The decoded frames the recorded session received."""
    return [
        json.loads(m["raw"])
        for m in doc["messages"]
        if m.get("direction") == "recv" and m["raw"] != "PONG"
    ]


TARGETS = [
    # Polymarket: Gamma, CLOB, Data API and the market WebSocket channel.
    Target(
        "polymarket gamma list",
        "polymarket/argos/gamma_markets_list.raw.json",
        lambda b: _page(b, polymarket.parse_gamma_market),
    ),
    Target(
        "polymarket gamma closed batch",
        "polymarket/stone16/gamma_markets_closed_batch.json",
        lambda b: _page(b, polymarket.parse_gamma_market),
    ),
    Target(
        "polymarket gamma by id",
        "polymarket/argos/gamma_market_by_id_resolved_after_dispute.raw.json",
        polymarket.parse_gamma_market,
    ),
    Target(
        "polymarket gamma detail",
        "polymarket/ra1nty_cli/market_detail.json",
        polymarket.parse_gamma_market,
    ),
    Target(
        "polymarket public search",
        "polymarket/ra1nty_cli/public_search.json",
        lambda b: parse_page(
            "v", "/e", page_list(b, "events"), polymarket.parse_gamma_event, key_id("id")
        ),
    ),
    Target(
        "polymarket clob market",
        "polymarket/argos/clob_market_by_condition_id_resolved.raw.json",
        lambda b: polymarket.parse_clob_market(b, "1"),
    ),
    Target(
        "polymarket clob book",
        "polymarket/argos/clob_book_negrisk.raw.json",
        lambda b: polymarket.parse_book(b, "m", 0),
    ),
    Target(
        "polymarket price history",
        "polymarket/ra1nty_cli/price_history.json",
        lambda b: polymarket.parse_price_history(b, "m", 0, "t"),
    ),
    Target(
        "polymarket data trades",
        "polymarket/edulabrador_smart_money/data_api_trades.json",
        lambda b: _page(b, lambda t: polymarket.parse_trade(t, "m"), "transactionHash"),
    ),
    Target(
        "polymarket side prices",
        "polymarket/ra1nty_cli/midpoint.json",
        lambda b: polymarket.parse_side_prices({"t": b}, "t", "m", 0, NOW),
    ),
    Target(
        "polymarket ws session",
        "polymarket/argos/ws_market_channel_session.excerpt.json",
        _ws,
        _ws_messages,
        raises=(),  # a WebSocket message reports its bad parts; it never raises
    ),
    Target("polymarket ws trade", "polymarket/argos/ws_last_trade_price.raw.json", _ws, raises=()),
    # Kalshi
    Target(
        "kalshi markets page",
        "kalshi/feetball_money_maker/markets_page.json",
        kalshi.parse_markets_page,
    ),
    Target(
        "kalshi events page",
        "kalshi/feetball_money_maker/events_nested.json",
        kalshi.parse_events_page,
    ),
    Target(
        "kalshi market", "kalshi/feetball_money_maker/market_settled.json", kalshi.parse_market_body
    ),
    Target(
        "kalshi orderbook",
        "kalshi/feetball_money_maker/orderbook.json",
        lambda b: kalshi.parse_orderbook_body("T", b, NOW),
    ),
    Target(
        "kalshi orderbooks page",
        "kalshi/feetball_money_maker/orderbook.json",
        lambda b: kalshi.parse_orderbooks_page(b, NOW),
        lambda doc: {"orderbooks": [{"ticker": "T", **doc}]},
    ),
    Target("kalshi trades", "kalshi/feetball_money_maker/trades.json", kalshi.parse_trades_page),
    Target(
        "kalshi candlesticks",
        "kalshi/feetball_money_maker/candlesticks.json",
        lambda b: kalshi.parse_candlesticks("T", b),
    ),
    # Limitless
    Target(
        "limitless active page",
        "limitless/spec_example_markets_active.json",
        limitless.parse_active_page,
    ),
    Target(
        "limitless clob market",
        "limitless/ccxt_comment_market_clob_single.json",
        limitless.parse_market_body,
    ),
    Target(
        "limitless group", "limitless/constructed_group_market.json", limitless.parse_market_body
    ),
    Target(
        "limitless orderbook",
        "limitless/spec_example_orderbook.json",
        lambda b: (
            limitless.parse_orderbook("s", b, NOW, "no", size_decimals=limitless.DEFAULT_DECIMALS),
            limitless.orderbook_last_price(b),
        ),
    ),
    Target(
        "limitless history",
        "limitless/spec_example_historical_price.json",
        lambda b: limitless.parse_historical_prices("s", b, ("y", "n")),
    ),
    # Opinion
    Target("opinion market list", "opinion/market_list.json", opinion.parse_market_list),
    Target(
        "opinion binary detail", "opinion/market_detail_binary.json", opinion.parse_market_detail
    ),
    Target(
        "opinion categorical detail",
        "opinion/market_detail_categorical.json",
        opinion.parse_market_detail,
    ),
    Target(
        "opinion latest price",
        "opinion/latest_price.json",
        lambda b: opinion.parse_latest_price("m", 0, "t", b, NOW),
    ),
    Target(
        "opinion orderbook",
        "opinion/orderbook.json",
        lambda b: opinion.parse_orderbook("m", 0, "t", b, NOW),
    ),
    Target(
        "opinion price history",
        "opinion/price_history.json",
        lambda b: opinion.parse_price_history("m", 0, "t", b),
    ),
]


def _survives(target: Target, page: Any) -> None:
    try:
        result = target.call(page)
    except target.raises as exc:
        assert str(exc)  # a typed error always says why
        return
    _checked(result)


def _fuzz(examples: int) -> Callable[[Target], None]:
    def run(target: Target) -> None:
        page = target.pick(_load(target.fixture))
        _survives(target, page)  # the recorded page itself parses

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(mutated(page))
        def broken(doc: Any) -> None:
            _survives(target, doc)

        broken()

    return run


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_a_broken_page_raises_only_typed_errors(target: Target) -> None:
    _fuzz(QUICK)(target)


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_a_broken_page_raises_only_typed_errors_long(target: Target) -> None:
    _fuzz(LONG)(target)


def _frames() -> Iterable[Any]:
    doc = _load("polymarket/argos/ws_market_channel_session.excerpt.json")
    yield from _ws_messages(doc)


@settings(max_examples=QUICK * 2, deadline=None, database=None)
@given(
    st.sampled_from(list(_frames())).flatmap(
        lambda m: truncated_text(m) | mutated(m).map(json.dumps)
    )
)
def test_a_broken_websocket_frame_never_escapes_the_decoder(text: str) -> None:
    update = decode(text, TOKENS)
    assert update.raw is not None
    _checked([update.quotes, update.trades, update.books])


@pytest.mark.parametrize("bad_id", [{}, [], ["t"], True])
def test_a_frame_whose_own_asset_id_is_malformed_is_reported_not_raised(bad_id: Any) -> None:
    """The error handler reads the frame's id leniently: a bad id cannot escape it."""
    for kind in ("book", "last_trade_price"):
        frame = {"event_type": kind, "asset_id": bad_id}
        quotes, trades, books, errors = _ws(frame)
        assert (quotes, trades, books) == ([], [], [])
        assert [reason for _, reason in errors] == [
            f"field 'asset_id' is {type(bad_id).__name__}, expected a string"
        ]
        assert decode(json.dumps(frame), TOKENS).raw is not None
