"""Price history as venues chart it: the last traded price at each step, carried forward."""

from __future__ import annotations

from predhub.sim.runtime import Sim
from predhub.sim.world import SimMarket


def price_points(
    sim: Sim, m: SimMarket, outcome: int, start: float, end: float, step: float
) -> list[tuple[int, float]]:
    """The last traded price at each step boundary in [start, end] (carried forward)."""
    w = sim.world
    trades = w.trades.get(m.idx, 0, w.trades.count(m.idx))
    start = max(start, m.created_at)
    end = min(end, w.now)
    if end < start or step <= 0:
        return []
    out: list[tuple[int, float]] = []
    price: float | None = None
    i = 0
    t = start
    first_yes = (
        trades[0].price
        if trades and trades[0].outcome == 0
        else (1 - trades[0].price if trades else m.price)
    )
    while t <= end and len(out) < 20_000:
        while i < len(trades) and trades[i].ts_ms <= t * 1000:
            tr = trades[i]
            price = tr.price if tr.outcome == 0 else 1 - tr.price
            i += 1
        yes = price if price is not None else first_yes
        out.append((int(t), round(yes if outcome == 0 else 1 - yes, 4)))
        t += step
    return out
