"""Gold: pre-computed answers (top markets, events, movers, stats, trending) in tables.

The worker refreshes them from what changed in silver (`refresh`), on the
cadences of `schedule`, one worker at a time; the API reads them as they are.
"""
