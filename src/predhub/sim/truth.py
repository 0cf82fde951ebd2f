"""Ground truth: what every market really did, and which markets are the same.

Trade ids here are exactly the ids the venue endpoints expose (each plug-in's
`trade_id`: a transaction hash, a venue's own trade id); for venues without a
public trade feed they are the simulator's own stable ids.
"""

from __future__ import annotations

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
        # taker fee per contract at price p, per venue (the simulated schedules)
        "fee_model": ", ".join(f"{p.name} {p.fee_text}" for p in sorted(plugins(), key=_name)),
    }


def _name(p: SimPlugin) -> str:
    return p.name
