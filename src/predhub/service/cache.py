"""An in-process cache of market snapshots that database notifications keep correct.

Every API process keeps the snapshots it served recently. Whenever a market's
row changes, PostgreSQL notifies every process (`predhub_quotes` from
ingestion, `predhub_market_changed` from the triggers of migration 0004) and
the entry is dropped, so the next read goes to the database again.

A read that races a change must not re-insert what it read before the change:
each key carries a generation bumped by every invalidation, and `put` only
stores when the generation is still the one seen before the read began. When
the notification connection is lost the whole cache is cleared, since changes
may have been missed; the TTL bounds the damage of anything else.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable

from predhub.service.payload import Snapshot

DEFAULT_TTL_SECONDS = 60.0
DEFAULT_MAX_ENTRIES = 50_000


class SnapshotCache:
    def __init__(
        self, *, ttl: float = DEFAULT_TTL_SECONDS, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        # market id -> (when the entry expires on the monotonic clock, the snapshot)
        self._entries: OrderedDict[int, tuple[float, Snapshot]] = OrderedDict()
        self._generations: dict[int, int] = {}
        self._epoch = 0
        self.enabled = ttl > 0  # a TTL of 0 keeps nothing

    def __len__(self) -> int:
        return len(self._entries)

    def token(self, market_id: int) -> tuple[int, int]:
        """Taken before a database read; `put` compares it afterwards."""
        return (self._epoch, self._generations.get(market_id, 0))

    def get(self, market_id: int) -> Snapshot | None:
        if not self.enabled:
            return None
        entry = self._entries.get(market_id)
        if entry is None:
            return None
        expires_at, snapshot = entry
        if time.monotonic() > expires_at:
            self._entries.pop(market_id, None)
            return None
        return snapshot

    def put(self, snapshot: Snapshot, token: tuple[int, int], *, ttl: float | None = None) -> bool:
        """Keep `snapshot` unless its market changed since `token`; `ttl` may only shorten.

        A row read from a replica may predate a change whose notification came
        from the primary before the replica replayed it; such rows pass a `ttl`
        of the replica lag the operator accepts, which bounds how long that lasts.
        """
        if not self.enabled or token != self.token(snapshot.id):
            return False
        keep = self.ttl if ttl is None else min(ttl, self.ttl)
        self._entries[snapshot.id] = (time.monotonic() + keep, snapshot)
        self._entries.move_to_end(snapshot.id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True

    def invalidate(self, market_ids: Iterable[int]) -> None:
        for market_id in market_ids:
            self._entries.pop(market_id, None)
            self._generations[market_id] = self._generations.get(market_id, 0) + 1
        if len(self._generations) > 4 * self.max_entries:
            # Generations only need to outlive reads in flight; reset through the epoch.
            self._generations.clear()
            self._epoch += 1

    def clear(self) -> None:
        self._entries.clear()
        self._generations.clear()
        self._epoch += 1
