"""The service's SQL, named; one statement per purpose."""

from __future__ import annotations

from predhub.db.queries import load

_Q = load("service_reads")

# One row per market: the columns of a price answer, outcomes with their quotes.
MARKET_SNAPSHOTS = _Q.market_snapshots

# Ids (of those given) whose quotes were synced before $2 (the oldest sync the
# caller accepts: its arrival minus its max age) and that still trade. Compared
# with the caller's arrival, not with now(): a row refreshed after the caller
# asked is fresh enough for it, whatever its age by the time it is checked.
STILL_STALE = _Q.still_stale


TRY_LOCKS = _Q.try_locks

WAIT_LOCKS = _Q.wait_locks

MARK_INTEREST = _Q.mark_interest
