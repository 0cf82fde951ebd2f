"""Price history kept by the write path itself: quote samples and dirty buckets.

Every quote write samples `silver.price_history` in its own transaction (one
set-based statement over the staged quotes, no request to the venue), so the
hub keeps its own history at the market's resolution. Points mark their
15-minute buckets for the rollup (`predhub.gold.history`) by a trigger on
`silver.price_history`; trades mark theirs here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from predhub.db import partitions
from predhub.db.queries import load
from predhub.settings import Settings

_Q = load("history")


@dataclass(frozen=True, slots=True)
class HistorySampling:
    """How often a quote write adds a point when the price has not changed."""

    high_seconds: float = 60.0
    normal_seconds: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> HistorySampling:
        return cls(settings.history_high_sample_seconds, settings.history_sample_seconds)


DEFAULT_SAMPLING = HistorySampling()


async def sample_staged_quotes(
    conn: asyncpg.Connection, sampling: HistorySampling, fetched_at: datetime
) -> int:
    """Sample the quotes staged in `ingest_quotes_in` (just written, at `fetched_at`, the
    points' time); returns points added."""

    async def write() -> int:
        return int(
            await conn.fetchval(_Q.sample_quotes, sampling.high_seconds, sampling.normal_seconds)
            or 0
        )

    return await partitions.write_with_partitions(
        conn, write, lambda: [(partitions.PRICE_HISTORY, [fetched_at])]
    )


async def mark_trades(
    conn: asyncpg.Connection, outcome_ids: Sequence[int | None], executed_at: Sequence[datetime]
) -> None:
    """Mark the buckets of new trades (their volume) for the rollup."""
    pairs = [(o, t) for o, t in zip(outcome_ids, executed_at, strict=True) if o is not None]
    if pairs:
        await conn.execute(_Q.mark_trades, [p[0] for p in pairs], [p[1] for p in pairs])
