"""Ground truth: what every market really did, and which markets are the same.

`matches` lists the cross-venue truth the matcher is measured against: the
link groups, and every pair of markets whose relation is known (`pairs`).

Trade ids here are exactly the ids the venue endpoints expose (each plug-in's
`trade_id`: a transaction hash, a venue's own trade id); for venues without a
public trade feed they are the simulator's own stable ids.
"""

from __future__ import annotations

import itertools
from typing import Any

from predhub.sim.plugins import SimPlugin, plugin, plugins
from predhub.sim.world import LinkGroup, SimMarket, World


def trade_id(world: World, m: SimMarket, seq: int) -> str:
    return plugin(m.venue).trade_id(world, m, seq)


def market_truth(world: World, m: SimMarket, with_trades: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "venue": m.venue,
        "market": m.native_id,
        "event": m.event.native_id,
        "question": m.question,
        "condition_id": m.condition_id,
        "status": m.status,
        "winner": m.winner,
        "resolved_at": m.resolved_at,
        "updated_at": m.updated_at,
        "close_at": m.close_at,
        "trade_count": world.trades.count(m.idx),
        "outcomes": [
            {
                "index": i,
                "label": m.outcomes[i],
                "token_id": m.token_ids[i],
                "price": round(m.outcome_price(i), 6),
                "best_bid": m.quote(i)[0],
                "best_ask": m.quote(i)[1],
            }
            for i in (0, 1)
        ],
    }
    if m.event.exclusive:
        out["neg_risk_yes_sum"] = round(sum(x.price for x in m.event.markets if x.listed), 6)
    if with_trades:
        out["trades"] = [
            {
                "trade_id": trade_id(world, m, tr.seq),
                "seq": tr.seq,
                "ts_ms": tr.ts_ms,
                "price": tr.price,
                "size": tr.size,
                "outcome_index": tr.outcome,
                "token_id": m.token_ids[tr.outcome],
                "side": tr.side,
            }
            for tr in world.trades.get(m.idx, 0, world.trades.count(m.idx))
        ]
    return out


def _member(m: SimMarket) -> dict[str, Any]:
    return {
        "venue": m.venue,
        "market": m.native_id,
        "question": m.question,
        "yes_is_group_yes": not (m.link.inverted if m.link else False),
        "status": m.status,
    }


def _arbitrage(group: LinkGroup) -> list[dict[str, Any]]:
    """Buy group-YES on one venue and group-NO on another for less than 1 after fees."""
    out: list[dict[str, Any]] = []
    live = [m for m in group.members if m.is_open]
    for a in live:
        for b in live:
            if a is b:
                continue
            # cost of group-YES on a, and of group-NO on b
            yes_a = a.quote(1 if a.link and a.link.inverted else 0)[1]
            no_b = b.quote(0 if b.link and b.link.inverted else 1)[1]
            cost = yes_a + no_b
            fees = plugin(a.venue).fee(yes_a) + plugin(b.venue).fee(no_b)
            edge = 1.0 - cost - fees
            if edge > 0:
                out.append(
                    {
                        "buy_yes": {"venue": a.venue, "market": a.native_id, "ask": yes_a},
                        "buy_no": {"venue": b.venue, "market": b.native_id, "ask": no_b},
                        "cost": round(cost, 6),
                        "fees": round(fees, 6),
                        "edge_after_fees": round(edge, 6),
                    }
                )
    return out


def _ref(m: SimMarket) -> dict[str, Any]:
    return {"venue": m.venue, "market": m.native_id, "question": m.question, "status": m.status}


def match_pairs(world: World) -> list[dict[str, Any]]:
    """Every pair of listed markets on different venues whose relation is known.

    The planted pairs (`planted: true`: cross-listed propositions, nested strikes
    and look-alike traps), and the generated markets that happen to ask the very
    same proposition on two venues (equal keys: `same`, or `inverse` when one is
    worded as the complement); every other cross-venue pair is a different contract.
    """
    out: list[dict[str, Any]] = []
    seen: set[frozenset[int]] = set()
    for p in world.planted:
        if not (p.a.listed and p.b.listed):
            continue
        seen.add(frozenset((p.a.idx, p.b.idx)))
        out.append(
            {
                "a": _ref(p.a),
                "b": _ref(p.b),
                "relation": p.relation,
                "trap": p.trap or None,
                "planted": True,
                "note": p.note,
            }
        )
    by_key: dict[tuple[object, ...], list[SimMarket]] = {}
    for m in world.markets:
        if m.key is not None and m.listed:
            by_key.setdefault(m.key, []).append(m)
    for ms in by_key.values():
        for a, b in itertools.combinations(ms, 2):
            if a.venue == b.venue or frozenset((a.idx, b.idx)) in seen:
                continue
            out.append(
                {
                    "a": _ref(a),
                    "b": _ref(b),
                    "relation": "inverse" if a.key_inverted != b.key_inverted else "same",
                    "trap": None,
                    "planted": False,
                    "note": "the same proposition generated on two venues",
                }
            )
    return out


def matches(world: World) -> dict[str, Any]:
    groups = []
    for g in world.links:
        groups.append(
            {
                "group": g.gid,
                "relation": g.relation,
                "same_contract": g.relation == "equivalent",
                "note": g.note,
                "markets": [_member(m) for m in g.members],
                "arbitrage": _arbitrage(g) if g.relation == "equivalent" else [],
            }
        )
    return {
        "groups": groups,
        "pairs": match_pairs(world),
        # taker fee per contract at price p, per venue (the simulated schedules)
        "fee_model": ", ".join(f"{p.name} {p.fee_text}" for p in sorted(plugins(), key=_name)),
    }


def _name(p: SimPlugin) -> str:
    return p.name
