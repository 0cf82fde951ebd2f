"""Cross-venue matching: which market on one venue pays when one on another does.

`terms` reads a market's payout-deciding terms from its text, `relate` decides
the relation of two markets from their terms, `run` finds candidates in
PostgreSQL and stores proposals in `gold.market_matches`, `pairs` loads and
scores labelled pairs, and `schedule` runs the matcher from the worker.
"""
