"""The compact trade store: everything written reads back, across spills."""

from __future__ import annotations

import random

from predhub.sim.trades import CHUNK, TradeStore


def test_every_trade_reads_back_in_order_across_spilled_chunks() -> None:
    store = TradeStore()
    rng = random.Random(5)
    written: dict[int, list[tuple[int, float, float, int, str]]] = {0: [], 1: []}
    for i in range(CHUNK * 5 + 7):
        market = rng.randint(0, 1)
        row = (
            1_000 * i,
            round(rng.random(), 4),
            round(rng.uniform(1, 500), 2),
            rng.randint(0, 1),
            rng.choice(["BUY", "SELL"]),
        )
        written[market].append(row)
        store.append(market, *row)
    try:
        for market, rows in written.items():
            got = store.get(market, 0, store.count(market))
            assert [(t.ts_ms, t.price, t.size, t.outcome, t.side) for t in got] == rows
            assert [t.seq for t in got] == list(range(len(rows)))
            middle = store.get(market, CHUNK - 3, CHUNK * 2 + 3)
            assert [t.seq for t in middle] == list(range(CHUNK - 3, min(len(rows), CHUNK * 2 + 3)))
        assert store.total == sum(len(r) for r in written.values())
        assert store.last(7) is None
    finally:
        store.close()
