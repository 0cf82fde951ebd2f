"""How often each kind of data should be refreshed, per sync priority.

The default schedule: prices every 15 minutes, volumes and
trades hourly, metadata daily, and high-priority quotes every minute. Low
priority stretches every cadence by `low_priority_factor`; archived markets
(resolved, final) are never polled, the resolution sweep and delta loads
cover them. A `None` cadence means "not refreshed by the planner".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from predhub.models import SyncPriority
from predhub.settings import Settings


class DataKind(StrEnum):
    """What a planned refresh fetches; each has its own `<kind>_synced_at` column."""

    QUOTES = "quotes"
    TRADES = "trades"
    BOOKS = "books"
    METADATA = "metadata"

    @property
    def synced_column(self) -> str:
        return f"{self.value}_synced_at"


PRIORITY_ORDER: tuple[SyncPriority, ...] = (
    SyncPriority.HIGH,
    SyncPriority.NORMAL,
    SyncPriority.LOW,
    SyncPriority.ARCHIVED,
)

# The value of fresh data per priority: staleness × value decides where the
# budget goes. A factor of ten between levels means a lower level only wins
# when it is ten times further overdue, so a short budget degrades by priority.
PRIORITY_VALUE: dict[SyncPriority, float] = {
    SyncPriority.HIGH: 1000.0,
    SyncPriority.NORMAL: 100.0,
    SyncPriority.LOW: 10.0,
    SyncPriority.ARCHIVED: 1.0,
}

# Within one priority, quotes matter most (the API serves them), then trades.
KIND_VALUE: dict[DataKind, float] = {
    DataKind.QUOTES: 1.0,
    DataKind.TRADES: 0.25,
    DataKind.BOOKS: 0.2,
    DataKind.METADATA: 0.15,
}


@dataclass(frozen=True, slots=True)
class Cadences:
    """Target refresh interval in seconds per (priority, kind); None = not polled."""

    seconds: dict[tuple[SyncPriority, DataKind], float | None]

    def get(self, priority: SyncPriority, kind: DataKind) -> float | None:
        return self.seconds.get((priority, kind))

    @classmethod
    def from_settings(cls, settings: Settings) -> Cadences:
        quotes_normal = settings.delta_price_interval_minutes * 60
        hourly = settings.delta_schedule_interval_hours * 3600
        metadata = settings.metadata_interval_hours * 3600
        low = settings.low_priority_factor
        high, normal, low_p = SyncPriority.HIGH, SyncPriority.NORMAL, SyncPriority.LOW
        table: dict[tuple[SyncPriority, DataKind], float | None] = {
            (high, DataKind.QUOTES): settings.high_quotes_interval_seconds,
            (high, DataKind.TRADES): min(settings.high_trades_interval_seconds, hourly),
            (high, DataKind.BOOKS): settings.books_interval_seconds,
            (high, DataKind.METADATA): min(hourly, metadata),
            (normal, DataKind.QUOTES): quotes_normal,
            (normal, DataKind.TRADES): hourly,
            (normal, DataKind.BOOKS): None,
            (normal, DataKind.METADATA): metadata,
            (low_p, DataKind.QUOTES): quotes_normal * low,
            (low_p, DataKind.TRADES): hourly * low,
            (low_p, DataKind.BOOKS): None,
            (low_p, DataKind.METADATA): metadata * low,
        }
        for kind in DataKind:
            table[(SyncPriority.ARCHIVED, kind)] = None
        return cls(table)
