"""The simulator over real HTTP: pagination, consistency, truth, faults, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from predhub.sim.config import SimConfig
from predhub.sim.testing import SimHandle, running_simulator
from predhub.sim.world import World


def test_world_is_deterministic_for_a_seed() -> None:
    a = World(SimConfig.small(seed=3), 1_790_000_000.0)
    b = World(SimConfig.small(seed=3), 1_790_000_000.0)
    a.advance_to(a.now + 1800)
    for step in (600.0, 600.0, 600.0):
        b.advance_to(b.now + step)
    assert [m.native_id for m in a.markets] == [m.native_id for m in b.markets]
    assert [round(m.price, 9) for m in a.markets] == [round(m.price, 9) for m in b.markets]
    assert a.trades.total == b.trades.total > 0
    c = World(SimConfig.small(seed=4), 1_790_000_000.0)
    assert [m.question for m in c.markets] != [m.question for m in a.markets]
    for w in (a, b, c):
        w.close()


def test_neg_risk_events_stay_coherent() -> None:
    w = World(SimConfig.small(), 1_790_000_000.0)
    w.advance_to(w.now + 6 * 3600)
    exclusive = [e for e in w.events if e.exclusive and all(m.is_open for m in e.markets)]
    assert exclusive
    for ev in exclusive:
        assert sum(m.price for m in ev.markets) == pytest.approx(1.0, abs=0.02)
    w.close()


def test_gamma_keyset_walks_every_market_once(sim: SimHandle) -> None:
    base = sim.url("POLYMARKET_GAMMA_URL")
    seen: list[str] = []
    cursor = None
    with httpx.Client() as c:
        while True:
            params = {"limit": 37, **({"after_cursor": cursor} if cursor else {})}
            body = c.get(base + "/markets/keyset", params=params).json()
            seen += [m["id"] for m in body["markets"]]
            cursor = body.get("next_cursor")
            if cursor is None:
                break
        m = c.get(base + "/markets/" + seen[0]).json()
    truth = sim.truth("polymarket", trades=False)["markets"]
    assert sorted(seen) == sorted(t["market"] for t in truth)
    assert len(seen) == len(set(seen))
    assert isinstance(m["outcomes"], str) and json.loads(m["outcomes"]) == ["Yes", "No"]
    assert isinstance(m["volumeNum"], float) and isinstance(m["volume"], str)
    assert sim.count("polymarket", "/markets/keyset", 200) == len(seen) // 37 + 1


def test_delta_by_updated_at_finds_changed_markets(sim: SimHandle) -> None:
    base = sim.url("POLYMARKET_GAMMA_URL")
    with httpx.Client() as c:
        first = c.get(
            base + "/markets/keyset",
            params={"order": "updatedAt", "ascending": "false", "limit": 1},
        ).json()
        newest_before = first["markets"][0]["updatedAt"]
        sim.advance(1800)
        after = c.get(
            base + "/markets/keyset",
            params={"order": "updatedAt", "ascending": "false", "limit": 50},
        ).json()
    assert after["markets"][0]["updatedAt"] > newest_before


def test_data_api_trades_match_the_truth(sim: SimHandle) -> None:
    sim.advance(3600)
    truth = sim.truth("polymarket")["markets"]
    busiest = max(truth, key=lambda t: t["trade_count"])
    assert busiest["trade_count"] > 0
    with httpx.Client() as c:
        rows = c.get(
            sim.url("POLYMARKET_DATA_URL") + "/trades",
            params={"market": busiest["condition_id"], "limit": 10_000},
        ).json()
    assert [r["transactionHash"] for r in rows] == [
        t["trade_id"] for t in reversed(busiest["trades"])
    ]
    assert rows == sorted(rows, key=lambda r: r["timestamp"], reverse=True)


def test_kalshi_trades_pages_cover_the_truth(sim: SimHandle) -> None:
    sim.advance(3600)
    truth = sim.truth("kalshi")["markets"]
    busiest = max(truth, key=lambda t: t["trade_count"])
    ids: list[str] = []
    cursor = ""
    with httpx.Client() as c:
        while True:
            body = c.get(
                sim.url("KALSHI_URL") + "/markets/trades",
                params={"ticker": busiest["market"], "limit": 7, "cursor": cursor},
            ).json()
            ids += [t["trade_id"] for t in body["trades"]]
            cursor = body["cursor"]
            if cursor == "":
                break
    assert sorted(ids) == sorted(t["trade_id"] for t in busiest["trades"])


def test_book_is_consistent_with_quote(sim: SimHandle) -> None:
    m = sim.truth("polymarket", trades=False)["markets"][0]
    yes = m["outcomes"][0]
    with httpx.Client() as c:
        book = c.get(
            sim.url("POLYMARKET_CLOB_URL") + "/book", params={"token_id": yes["token_id"]}
        ).json()
    if m["status"] == "open":
        assert float(book["bids"][-1]["price"]) == pytest.approx(yes["best_bid"])
        assert float(book["asks"][-1]["price"]) == pytest.approx(yes["best_ask"])
        prices = [float(b["price"]) for b in book["bids"]]
        assert prices == sorted(prices)


def test_faults_errors_then_recover(sim: SimHandle) -> None:
    url = sim.url("KALSHI_URL") + "/markets"
    sim.set_faults(
        {"venue": "kalshi", "endpoint": "/markets", "kind": "error", "status": 503, "count": 2}
    )
    with httpx.Client() as c:
        codes = [c.get(url).status_code for _ in range(3)]
        sim.set_faults({"venue": "kalshi", "endpoint": "/markets", "kind": "malformed"})
        bad = c.get(url)
        with pytest.raises(json.JSONDecodeError):
            json.loads(bad.text)
        sim.set_faults(
            {
                "venue": "kalshi",
                "endpoint": "/markets",
                "kind": "renamed_field",
                "field": "ticker",
                "rename_to": "market_ticker",
            }
        )
        renamed = c.get(url).json()["markets"][0]
        assert "ticker" not in renamed and "market_ticker" in renamed
        sim.set_faults({"venue": "kalshi", "endpoint": "/markets", "kind": "drop", "count": 1})
        with pytest.raises(httpx.TransportError):
            c.get(url)
        sim.clear_faults()
        assert c.get(url).status_code == 200
    assert codes == [503, 503, 200]
    assert sim.count("kalshi", "/markets", 503) == 2


def test_kalshi_rate_limit_answers_429_without_retry_after() -> None:
    with running_simulator(SimConfig.small(rate_limits=True)) as h, httpx.Client() as c:
        url = h.url("KALSHI_URL") + "/markets"
        responses = [c.get(url, params={"limit": 1}) for _ in range(40)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, "40 quick requests exceed 20 per second"
    assert limited[0].json() == {"error": "too many requests"}
    assert "retry-after" not in limited[0].headers


def test_opinion_requires_apikey(sim: SimHandle) -> None:
    url = sim.url("OPINION_URL") + "/market"
    with httpx.Client() as c:
        denied = c.get(url)
        body = c.get(url, headers={"apikey": sim.env["OPINION_API_KEY"]}).json()
    assert denied.status_code == 401
    assert body["code"] == 0 and body["result"]["list"]


def test_matches_list_equivalent_and_lookalike_groups(sim: SimHandle) -> None:
    groups = sim.matches()["groups"]
    relations = {g["relation"] for g in groups}
    assert {"equivalent", "lookalike"} <= relations <= {"equivalent", "lookalike", "nested"}
    for g in groups:
        venues = {m["venue"] for m in g["markets"]}
        assert len(venues) >= 2 or g["relation"] == "lookalike"


def test_matches_list_planted_pairs_with_their_relation() -> None:
    """Cross-listings agree with their group's orientation; traps are never one proposition."""
    with running_simulator(SimConfig.small(seed=3, cross_listed=20)) as handle:
        body = handle.matches()
    groups = {
        (m["venue"], m["market"]): (g["relation"], g["group"], m["yes_is_group_yes"])
        for g in body["groups"]
        for m in g["markets"]
        if g["relation"] == "equivalent"
    }
    pairs = body["pairs"]
    planted = [p for p in pairs if p["planted"]]
    assert {p["trap"] for p in planted} >= {"threshold", "date", "band", "source", "game"}
    for p in pairs:
        assert p["a"]["venue"] != p["b"]["venue"]
        a, b = ((p[side]["venue"], p[side]["market"]) for side in ("a", "b"))
        if p["trap"]:
            assert p["relation"] in ("different", "subset", "superset")
        elif p["planted"] and p["relation"] in ("same", "inverse"):
            (_, ga, ya), (_, gb, yb) = groups[a], groups[b]
            assert ga == gb
            assert p["relation"] == ("same" if ya == yb else "inverse")
        elif not p["planted"]:
            # one proposition generated on two venues (a template, or a planted one's twin)
            assert p["relation"] in ("same", "inverse")
            assert p["relation"] == "same" or p["a"]["question"] != p["b"]["question"]


def test_settings_point_adapters_at_the_simulator(sim: SimHandle) -> None:
    s = sim.settings()
    assert s.kalshi_url.startswith(sim.base_url)
    assert s.opinion_api_key is not None


def test_markets_close_and_resolve_over_time(sim: SimHandle) -> None:
    before = sim.world()["markets"]["polymarket"]
    sim.advance(86_400)
    after = sim.world()["markets"]["polymarket"]
    assert after.get("resolved", 0) + after.get("voided", 0) > before.get(
        "resolved", 0
    ) + before.get("voided", 0)


def test_kalshi_listing_top_of_book_matches_orderbook(sim: SimHandle) -> None:
    base = sim.url("KALSHI_URL")
    with httpx.Client() as c:
        m = c.get(base + "/markets", params={"status": "open", "limit": 1}).json()["markets"][0]
        book = c.get(base + f"/markets/{m['ticker']}/orderbook").json()["orderbook_fp"]
    assert book["yes_dollars"][-1] == [m["yes_bid_dollars"], m["yes_bid_size_fp"]]
    best_no = book["no_dollars"][-1]
    assert f"{1 - float(best_no[0]):.4f}" == m["yes_ask_dollars"]
    assert best_no[1] == m["yes_ask_size_fp"]


def _recorded_ws_frames() -> dict[str, Any]:
    """One recorded frame of each kind, from the recorded market-channel session."""
    fixtures = Path(__file__).parent.parent / "fixtures" / "polymarket" / "argos"
    session = json.loads((fixtures / "ws_market_channel_session.excerpt.json").read_text())
    frames: dict[str, Any] = {}
    for msg in session["messages"]:
        if msg["direction"] != "recv" or not msg["raw"].startswith(("{", "[")):
            continue
        body = json.loads(msg["raw"])
        for frame in body if isinstance(body, list) else [body]:
            frames.setdefault(frame["event_type"], frame)
    last = json.loads((fixtures / "ws_last_trade_price.raw.json").read_text())
    frames.setdefault(last["event_type"], last)
    return frames


async def test_polymarket_websocket_book_then_trades(sim: SimHandle) -> None:
    import asyncio

    import websockets

    truth = sim.truth("polymarket", trades=False)["markets"]
    busiest = max((t for t in truth if t["status"] == "open"), key=lambda t: t["trade_count"])
    token = busiest["outcomes"][0]["token_id"]
    async with websockets.connect(sim.env["POLYMARKET_WS_URL"]) as ws:
        await ws.send(json.dumps({"assets_ids": [token], "type": "market"}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert isinstance(first, list) and first[0]["event_type"] == "book"
        recorded = _recorded_ws_frames()
        assert set(first[0]) == set(recorded["book"])
        assert first[0]["asset_id"] == token
        await ws.send("PING")
        assert await asyncio.wait_for(ws.recv(), 5) == "PONG"
        before = sim.truth("polymarket", busiest["market"])["trade_count"]
        # an hour: the busiest market trades well under the 200 frames one step queues
        await asyncio.to_thread(sim.advance, 3600)
        after = sim.truth("polymarket", busiest["market"])
        assert after["trade_count"] > before
        kinds: list[str] = []
        hashes: list[str] = []
        while len(hashes) < after["trade_count"] - before:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            kinds.append(frame["event_type"])
            assert set(frame) == set(recorded[frame["event_type"]])
            if frame["event_type"] == "price_change":
                assert set(frame["price_changes"][0]) == set(
                    recorded["price_change"]["price_changes"][0]
                )
            if frame["event_type"] == "last_trade_price":
                hashes.append(frame["transaction_hash"])
        assert set(kinds) == {"price_change", "last_trade_price"}
        assert hashes == [t["trade_id"] for t in after["trades"][before:]]
        sim.set_faults({"venue": "polymarket", "kind": "ws_silent"})
        await ws.send("PING")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 1.0)


def test_polymarket_throttle_delays_instead_of_refusing() -> None:
    from predhub.sim.runtime import TokenBucket

    bucket = TokenBucket(rate=10.0, capacity=2.0)
    assert bucket.delay_for() == 0.0
    assert bucket.delay_for() == 0.0
    assert bucket.delay_for() == pytest.approx(0.1, abs=0.02)
    assert bucket.delay_for() == pytest.approx(0.2, abs=0.02)
    refusing = TokenBucket(rate=10.0, capacity=1.0)
    assert refusing.try_take() and not refusing.try_take()


def test_clob_spread_tick_size_and_errors(sim: SimHandle) -> None:
    base = sim.url("POLYMARKET_CLOB_URL")
    m = next(t for t in sim.truth("polymarket", trades=False)["markets"] if t["status"] == "open")
    yes = m["outcomes"][0]
    with httpx.Client() as c:
        spread = c.get(base + "/spread", params={"token_id": yes["token_id"]}).json()
        tick = c.get(base + "/tick-size", params={"token_id": yes["token_id"]}).json()
        missing = c.get(base + "/book")
        unknown = c.get(base + "/book", params={"token_id": "0"})
    assert float(spread["spread"]) == pytest.approx(yes["best_ask"] - yes["best_bid"])
    assert isinstance(tick["minimum_tick_size"], float)
    assert (missing.status_code, missing.json()) == (400, {"error": "Invalid token id"})
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "No orderbook exists for the requested token id"}


def test_timeout_fault_holds_the_request(sim: SimHandle) -> None:
    sim.set_faults({"venue": "limitless", "kind": "timeout", "seconds": 5, "count": 1})
    with httpx.Client(timeout=0.5) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get(sim.url("LIMITLESS_URL") + "/markets/active")
        assert c.get(sim.url("LIMITLESS_URL") + "/markets/active").status_code == 200
    assert sim.count("limitless", "/markets/active", 408) == 1


def test_keyset_walk_in_update_order_skips_nothing_while_the_world_moves(sim: SimHandle) -> None:
    base = sim.url("POLYMARKET_GAMMA_URL") + "/markets/keyset"
    params: dict[str, Any] = {"order": "updatedAt", "ascending": "true", "limit": 25}
    before = {
        t["market"]: t["updated_at"] for t in sim.truth("polymarket", trades=False)["markets"]
    }
    seen: set[str] = set()
    with httpx.Client() as c:
        body = c.get(base, params=params).json()
        while True:
            seen |= {m["id"] for m in body["markets"]}
            sim.advance(120)  # markets change (and re-sort) between pages
            if "next_cursor" not in body:
                break
            body = c.get(base, params={**params, "after_cursor": body["next_cursor"]}).json()
    after = {t["market"]: t["updated_at"] for t in sim.truth("polymarket", trades=False)["markets"]}
    unchanged = {k for k, v in before.items() if after.get(k) == v}
    assert unchanged - seen == set()
