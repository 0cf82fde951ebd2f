"""The simulator's responses against the published OpenAPI files and recorded fixtures.

Two checks per endpoint predhub uses: (1) the body validates against the
venue's OpenAPI response schema (with `$ref`s resolved), and (2) every field
the simulator sends that a recorded response also carries has the same JSON
type, the simulator invents no field that neither the spec nor a recording
knows, and it carries most of the recorded fields. Kalshi's published file
still lists the integer-cent fields the venue removed; the fixtures show the
current schema, so `required` fields absent from the recordings are dropped.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from predhub.sim.testing import SimHandle

FIX = Path(__file__).parent.parent / "fixtures"
APIKEY = {"apikey": "sim-key"}


class _NoDates(yaml.SafeLoader):
    """YAML without timestamp conversion, so examples stay JSON-compatible."""


_NoDates.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@functools.cache
def _spec(name: str) -> dict[str, Any]:
    with open(FIX / "specs" / name, encoding="utf-8") as fh:
        loaded: dict[str, Any] = yaml.load(fh, Loader=_NoDates)
        return loaded


def _prepare(node: Any) -> Any:
    """OpenAPI 3.0 to JSON Schema: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [_prepare(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: (v if k == "properties" and not isinstance(v, dict) else _prepare(v))
        for k, v in node.items()
        if k not in ("example", "examples", "format")
    }
    if out.pop("nullable", False) in (True, "true"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _registry(spec_name: str) -> tuple[Registry, dict[str, Any]]:
    spec = _prepare(_spec(spec_name))
    # Some vendored files are truncated and miss their components; an empty
    # section makes those references fail loudly instead of passing silently.
    spec.setdefault("components", {"schemas": {}})
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    return Registry().with_resource(f"urn:{spec_name}", resource), spec


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _schema(
    spec_name: str, path: str, method: str = "get", drop_required: set[str] | None = None
) -> Any:
    registry, spec = _registry(spec_name)
    if drop_required:
        spec = copy.deepcopy(spec)
        _strip_required(spec, drop_required)
        registry = Registry().with_resource(
            f"urn:{spec_name}", Resource.from_contents(spec, default_specification=DRAFT202012)
        )
    ref = f"urn:{spec_name}#/" + _pointer(
        "paths", path, method, "responses", "200", "content", "application/json", "schema"
    )
    return jsonschema.Draft202012Validator({"$ref": ref}, registry=registry)


def _strip_required(node: Any, names: set[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("required"), list):
            node["required"] = [r for r in node["required"] if r not in names]
        for v in node.values():
            _strip_required(v, names)
    elif isinstance(node, list):
        for v in node:
            _strip_required(v, names)


def _jtype(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def _fixture(rel: str) -> Any:
    return json.loads((FIX / rel).read_text(encoding="utf-8"))


def _shape(
    sim_item: dict[str, Any],
    recorded: list[dict[str, Any]],
    allowed: set[str] | frozenset[str],
    min_share: float = 0.6,
) -> None:
    known: dict[str, set[str]] = {}
    for item in recorded:
        for k, v in item.items():
            known.setdefault(k, set()).add(_jtype(v))
    for k, v in sim_item.items():
        assert k in known or k in allowed, f"invented field {k!r}"
        if k in known and v is not None and "null" not in known[k] | {_jtype(v)}:
            assert _jtype(v) in known[k], f"{k}: {_jtype(v)} vs recorded {known[k]}"
    common = sum(1 for k in known if k in sim_item)
    assert common / len(known) >= min_share, f"only {common}/{len(known)} recorded fields"


def _get(sim: SimHandle, name: str, path: str, **params: Any) -> Any:
    headers = APIKEY if name == "OPINION_URL" else {}
    r = httpx.get(sim.url(name) + path, params=params, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _validate(body: Any, validator: jsonschema.Draft202012Validator) -> None:
    validator.validate(body)


@functools.cache
def _gamma_props() -> frozenset[str]:
    spec = _spec("PolymarketGammaAPI.yaml")
    return frozenset(spec["components"]["schemas"]["Market"]["properties"]) | {"$schema"}


def test_gamma_markets(sim_session: SimHandle) -> None:
    body = _get(sim_session, "POLYMARKET_GAMMA_URL", "/markets", limit=50)
    _validate(body, _schema("PolymarketGammaAPI.yaml", "/markets"))
    recorded = _fixture("polymarket/argos/gamma_markets_list.raw.json")
    for m in body:
        _shape(m, recorded, _gamma_props())
    one = _get(sim_session, "POLYMARKET_GAMMA_URL", f"/markets/{body[0]['id']}")
    _validate(one, _schema("PolymarketGammaAPI.yaml", "/markets/{id}"))
    keyset = _get(sim_session, "POLYMARKET_GAMMA_URL", "/markets/keyset", limit=5)
    assert set(keyset) == {"markets", "next_cursor"}
    _validate(keyset["markets"], _schema("PolymarketGammaAPI.yaml", "/markets"))


def test_gamma_events(sim_session: SimHandle) -> None:
    body = _get(sim_session, "POLYMARKET_GAMMA_URL", "/events", limit=20)
    _validate(body, _schema("PolymarketGammaAPI.yaml", "/events"))
    recorded = [_fixture("polymarket/argos/gamma_markets_list.raw.json")[0]["events"][0]]
    spec = _spec("PolymarketGammaAPI.yaml")
    allowed = set(spec["components"]["schemas"]["Event"]["properties"])
    for ev in body:
        _shape(ev, recorded, allowed, 0.5)
    one = _get(sim_session, "POLYMARKET_GAMMA_URL", f"/events/{body[0]['id']}")
    _validate(one, _schema("PolymarketGammaAPI.yaml", "/events/{id}"))
    search = _get(
        sim_session, "POLYMARKET_GAMMA_URL", "/public-search", q=body[0]["title"].split()[0]
    )
    _validate(search, _schema("PolymarketGammaAPI.yaml", "/public-search"))


def _open_token(sim: SimHandle) -> str:
    for m in sim.truth("polymarket", trades=False)["markets"]:
        if m["status"] == "open" and m["trade_count"]:
            return str(m["outcomes"][0]["token_id"])
    raise AssertionError("no open market")


def test_clob_endpoints(sim_session: SimHandle) -> None:
    tok = _open_token(sim_session)
    book = _get(sim_session, "POLYMARKET_CLOB_URL", "/book", token_id=tok)
    _validate(book, _schema("PolymarketClobAPI.yaml", "/book"))
    _shape(book, [_fixture("polymarket/argos/clob_book_negrisk.raw.json")], set(), 1.0)
    _validate(
        _get(sim_session, "POLYMARKET_CLOB_URL", "/price", token_id=tok, side="BUY"),
        _schema("PolymarketClobAPI.yaml", "/price"),
    )
    _validate(
        _get(sim_session, "POLYMARKET_CLOB_URL", "/midpoint", token_id=tok),
        _schema("PolymarketClobAPI.yaml", "/midpoint"),
    )
    hist = _get(sim_session, "POLYMARKET_CLOB_URL", "/prices-history", market=tok, interval="1d")
    _validate(hist, _schema("PolymarketClobAPI.yaml", "/prices-history"))
    _shape(
        hist["history"][0],
        _fixture("polymarket/ra1nty_cli/price_history.json")["history"],
        set(),
        1.0,
    )
    r = httpx.post(sim_session.url("POLYMARKET_CLOB_URL") + "/books", json=[{"token_id": tok}])
    _validate(r.json(), _schema("PolymarketClobAPI.yaml", "/books", "post"))
    r = httpx.post(
        sim_session.url("POLYMARKET_CLOB_URL") + "/prices", json=[{"token_id": tok, "side": "BUY"}]
    )
    _validate(r.json(), _schema("PolymarketClobAPI.yaml", "/prices", "post"))
    last = _get(sim_session, "POLYMARKET_CLOB_URL", "/last-trade-price", token_id=tok)
    _shape(last, [_fixture("polymarket/ra1nty_cli/last_trade_price.json")], set(), 1.0)
    cond = next(m["condition_id"] for m in sim_session.truth("polymarket", trades=False)["markets"])
    clob_market = _get(sim_session, "POLYMARKET_CLOB_URL", f"/markets/{cond}")
    _shape(
        clob_market,
        [_fixture("polymarket/argos/clob_market_by_condition_id_resolved.raw.json")],
        set(),
        0.9,
    )


def test_data_api_trades(sim_session: SimHandle) -> None:
    rows = _get(sim_session, "POLYMARKET_DATA_URL", "/trades", limit=50)
    assert rows
    # The vendored Data API file is truncated before its components, so its
    # Trade schema is unknown: the array shape comes from the spec, the item
    # shape from the recordings (every recorded field, same types).
    _, spec = _registry("Polymarket_Data_API.yaml")
    assert (
        spec["paths"]["/trades"]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]["type"]
        == "array"
    )
    assert isinstance(rows, list)
    for row in rows:
        _shape(row, _fixture("polymarket/ra1nty_cli/trades.json"), set(), 1.0)


def _kalshi_legacy() -> set[str]:
    spec = _spec("Kalshi.yaml")
    required = set(spec["components"]["schemas"]["Market"]["required"])
    recorded = _fixture("kalshi/feetball_money_maker/markets_page.json")["markets"]
    present = set().union(*(m.keys() for m in recorded))
    return required - present


def test_kalshi_endpoints(sim_session: SimHandle) -> None:
    legacy = _kalshi_legacy()
    spec = _spec("Kalshi.yaml")
    allowed = set(spec["components"]["schemas"]["Market"]["properties"])
    page = _get(sim_session, "KALSHI_URL", "/markets", limit=100)
    _validate(page, _schema("Kalshi.yaml", "/markets", drop_required=legacy))
    recorded = _fixture("kalshi/feetball_money_maker/markets_page.json")["markets"]
    for m in page["markets"]:
        _shape(m, recorded, allowed, 0.9)
    ticker = page["markets"][0]["ticker"]
    one = _get(sim_session, "KALSHI_URL", f"/markets/{ticker}")
    _validate(one, _schema("Kalshi.yaml", "/markets/{ticker}", drop_required=legacy))
    evs = _get(sim_session, "KALSHI_URL", "/events", limit=10, with_nested_markets="true")
    _validate(evs, _schema("Kalshi.yaml", "/events", drop_required=legacy))
    _shape(
        {k: v for k, v in evs["events"][0].items() if k != "markets"},
        _fixture("kalshi/feetball_money_maker/events_nested.json")["events"],
        set(spec["components"]["schemas"]["EventData"]["properties"]),
        0.9,
    )
    book = _get(sim_session, "KALSHI_URL", f"/markets/{ticker}/orderbook")
    _validate(
        book, _schema("Kalshi.yaml", "/markets/{ticker}/orderbook", drop_required={"orderbook"})
    )
    assert set(book) == set(_fixture("kalshi/feetball_money_maker/orderbook.json"))
    books = _get(sim_session, "KALSHI_URL", "/markets/orderbooks", tickers=ticker)
    _validate(books, _schema("Kalshi.yaml", "/markets/orderbooks", drop_required={"orderbook"}))
    trades = _get(sim_session, "KALSHI_URL", "/markets/trades", limit=50)
    _validate(
        trades,
        _schema(
            "Kalshi.yaml",
            "/markets/trades",
            drop_required={"price", "count", "yes_price", "no_price"},
        ),
    )
    for t in trades["trades"]:
        _shape(t, _fixture("kalshi/feetball_money_maker/trades.json")["trades"], set(), 1.0)
    now = int(sim_session.world()["now"])
    candles = _get(
        sim_session,
        "KALSHI_URL",
        f"/series/KX/markets/{ticker}/candlesticks",
        start_ts=now - 7200,
        end_ts=now,
        period_interval=60,
    )
    _validate(
        candles,
        _schema(
            "Kalshi.yaml",
            "/series/{series_ticker}/markets/{ticker}/candlesticks",
            drop_required={
                "volume",
                "open_interest",
                "open",
                "low",
                "high",
                "close",
                "mean",
                "previous",
            },
        ),
    )


def test_limitless_endpoints(sim_session: SimHandle) -> None:
    page = _get(sim_session, "LIMITLESS_URL", "/markets/active", limit=25)
    _validate(page, _schema("Limitless.yaml", "/markets/active"))
    # ccxt renders some numbers as strings (see SOURCES.md); the spec example uses numbers
    ccxt = _fixture("limitless/ccxt_comment_market_clob_single.json")
    for key in ("id", "expirationTimestamp", "priorityIndex"):
        ccxt[key] = int(ccxt[key])
    recorded = [ccxt, *_fixture("limitless/spec_example_markets_active.json")["data"]]
    for m in page["data"]:
        _shape(m, recorded, {"liquidityFormatted"}, 0.75)
    clob = next(m for m in page["data"] if m["tradeType"] == "clob")
    book = _get(sim_session, "LIMITLESS_URL", f"/markets/{clob['slug']}/orderbook")
    _validate(book, _schema("Limitless.yaml", "/markets/{slug}/orderbook"))
    hist = _get(
        sim_session, "LIMITLESS_URL", f"/markets/{clob['slug']}/historical-price", interval="1d"
    )
    _validate(hist, _schema("Limitless.yaml", "/markets/{slug}/historical-price"))


def test_opinion_endpoints(sim_session: SimHandle) -> None:
    page = _get(sim_session, "OPINION_URL", "/market", limit=20)
    _validate(page, _schema("opinion-openapi.yaml", "/market"))
    binary = page["result"]["list"][0]
    one = _get(sim_session, "OPINION_URL", f"/market/{binary['marketId']}")
    _validate(one, _schema("opinion-openapi.yaml", "/market/{marketId}"))
    cats = _get(sim_session, "OPINION_URL", "/market", marketType=1)
    if cats["result"]["list"]:
        cat = _get(
            sim_session,
            "OPINION_URL",
            f"/market/categorical/{cats['result']['list'][0]['marketId']}",
        )
        _validate(cat, _schema("opinion-openapi.yaml", "/market/categorical/{marketId}"))
    tok = binary["yesTokenId"]
    for path in ("/token/latest-price", "/token/orderbook", "/token/price-history"):
        _validate(
            _get(sim_session, "OPINION_URL", path, token_id=tok),
            _schema("opinion-openapi.yaml", path),
        )


@pytest.mark.parametrize("status", ["open", "closed", "settled"])
def test_kalshi_status_filter(sim_session: SimHandle, status: str) -> None:
    page = _get(sim_session, "KALSHI_URL", "/markets", status=status, limit=1000)
    expected = {"open": {"active"}, "closed": {"closed"}, "settled": {"finalized"}}[status]
    assert {m["status"] for m in page["markets"]} <= expected


_CANDLE_LEGACY = {"volume", "open_interest", "open", "low", "high", "close", "mean", "previous"}


def test_kalshi_batch_candlesticks(sim_session: SimHandle) -> None:
    """`/markets/candlesticks` as the spec has it: grouped by market, at most 100 tickers."""
    world = sim_session.truth("kalshi", trades=False)
    now = int(world["now"])
    live = [m["market"] for m in world["markets"] if m["status"] == "open"][:3]
    archived = [
        m["market"]
        for m in world["markets"]
        if m["resolved_at"] is not None and now - m["resolved_at"] > 30 * 86400
    ][:1]
    body = _get(
        sim_session,
        "KALSHI_URL",
        "/markets/candlesticks",
        market_tickers=",".join([*live, *archived, "KXNOSUCH-26JAN01-T1"]),
        start_ts=now - 7200,
        end_ts=now,
        period_interval=60,
    )
    _validate(body, _schema("Kalshi.yaml", "/markets/candlesticks", drop_required=_CANDLE_LEGACY))
    # the live set only: an archived market's candlesticks are under /historical
    assert [m["market_ticker"] for m in body["markets"]] == live
    assert all(m["candlesticks"] for m in body["markets"])
    one = _get(
        sim_session,
        "KALSHI_URL",
        f"/series/KX/markets/{live[0]}/candlesticks",
        start_ts=now - 7200,
        end_ts=now,
        period_interval=60,
    )
    assert body["markets"][0]["candlesticks"] == one["candlesticks"]


def test_kalshi_batch_candlesticks_refuses_what_the_venue_refuses(sim_session: SimHandle) -> None:
    world = sim_session.truth("kalshi", trades=False)
    now = int(world["now"])
    tickers = [m["market"] for m in world["markets"]][:101]
    assert len(tickers) == 101
    url = sim_session.url("KALSHI_URL") + "/markets/candlesticks"
    window = {"start_ts": now - 3600, "end_ts": now, "period_interval": 60}
    over = httpx.get(url, params={"market_tickers": ",".join(tickers), **window}, timeout=30)
    assert over.status_code == 400 and "100" in over.json()["error"]["message"]
    exactly = httpx.get(url, params={"market_tickers": ",".join(tickers[:100]), **window})
    assert exactly.status_code == 200
    missing = httpx.get(url, params={"market_tickers": tickers[0], "start_ts": now - 3600})
    assert missing.status_code == 400


def test_kalshi_batch_candlesticks_stop_at_ten_thousand(sim_session: SimHandle) -> None:
    """The spec's cap: 10,000 candlesticks in all, across the markets of one answer."""
    world = sim_session.truth("kalshi", trades=False)
    now = int(world["now"])
    live = [m["market"] for m in world["markets"] if m["status"] == "open"][:12]
    body = _get(
        sim_session,
        "KALSHI_URL",
        "/markets/candlesticks",
        market_tickers=",".join(live),
        start_ts=now - 86_400,
        end_ts=now,
        period_interval=1,
    )
    counts = [len(m["candlesticks"]) for m in body["markets"]]
    assert sum(counts) == 10_000 and counts[0] > 1000 and counts[-1] == 0


def test_kalshi_archived_candlesticks_are_under_historical_only(sim_session: SimHandle) -> None:
    world = sim_session.truth("kalshi", trades=False)
    now = int(world["now"])
    archived = [
        m
        for m in world["markets"]
        if m["resolved_at"] is not None and now - m["resolved_at"] > 30 * 86400
    ]
    assert archived
    m = archived[0]
    window = {"start_ts": int(m["close_at"]) - 14 * 86400, "end_ts": int(m["close_at"])}
    body = _get(
        sim_session,
        "KALSHI_URL",
        f"/historical/markets/{m['market']}/candlesticks",
        period_interval=60,
        **window,
    )
    _validate(body, _schema("Kalshi.yaml", "/historical/markets/{ticker}/candlesticks"))
    assert body["candlesticks"] and body["ticker"] == m["market"]
    live = httpx.get(
        sim_session.url("KALSHI_URL") + f"/series/KX/markets/{m['market']}/candlesticks",
        params={"period_interval": 60, **window},
        timeout=30,
    )
    assert live.status_code == 404
