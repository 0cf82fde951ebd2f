"""How the service refreshes markets: through ingestion, never around it.

The service decides *when* and *which* markets to refresh; ingestion owns *how*
(the venue adapter's cheapest batch call, bronze, silver write-back). The
`Refresher` protocol is that seam: `IngestRefresher` is the real one, built on
`predhub.ingest.pipeline.Ingestor` and `predhub.venues.registry.build_venue`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import asyncpg
import structlog

from predhub.ingest.pipeline import Ingestor
from predhub.scheduler.budget import reserve, venue_cap_per_minute
from predhub.settings import Settings
from predhub.venues.base import Venue
from predhub.venues.errors import BudgetSpent
from predhub.venues.http import REQUEST_GATE
from predhub.venues.metrics import VENUE_METRICS
from predhub.venues.registry import build_venue

log = structlog.get_logger(__name__)

T = TypeVar("T")


class Refresher(Protocol):
    """Fetch these markets of one venue and write them back to silver."""

    async def refresh_quotes(self, venue: str, market_ids: Sequence[int]) -> None: ...

    async def refresh_markets(self, venue: str, market_ids: Sequence[int]) -> None: ...

    async def discover(self, venue: str, key: str) -> list[int]:
        """Load the markets a venue id names (never loaded before); their ids, or none."""
        ...

    async def close(self) -> None: ...


class RefreshUnavailable(RuntimeError):
    """No refresh path exists for this venue in this deployment."""


class RefreshFailed(RuntimeError):
    """The venue calls of a refresh failed; the message says how."""


def _error_kinds(venue: str) -> Counter[str]:
    return Counter(VENUE_METRICS.venue_totals(venue).errors)


def _check(venue: str, summary: Any, before: Counter[str]) -> None:
    """Ingestion logs failed venue calls and carries on; the service must know of them."""
    failures = int(getattr(summary, "failures", 0) or 0)
    if failures <= 0:
        return
    kinds = _error_kinds(venue) - before
    how = ", ".join(f"{kind} x{n}" for kind, n in sorted(kinds.items())) or "request failed"
    raise RefreshFailed(f"{venue} did not answer ({how})")


class SharedBudgetGate:
    """Draws each upstream request of one refresh from the venue's shared minute budget.

    Workers and every API process book their requests in the same
    `ops.venue_usage` row, so the hub as a whole stays under the venue's
    limit however many processes refresh at once. Workers stop at their share
    of the cap; a refresh may use what they left. When the minute's budget is
    spent the refresh fails at once (the caller is served the stored row,
    stale, with this reason) rather than waiting for the next minute.
    """

    def __init__(self, pool: asyncpg.Pool, venue: str, cap: int) -> None:
        self.pool = pool
        self.venue = venue
        self.cap = cap
        self.refusal: BudgetSpent | None = None

    async def __call__(self) -> None:
        if not await reserve(self.pool, self.venue, 1, cap=self.cap, now=datetime.now(UTC)):
            self.refusal = BudgetSpent(
                f"this minute's request budget ({self.cap}) is spent", venue=self.venue
            )
            raise self.refusal


class IngestRefresher:
    """One `Ingestor` per venue, built on first use and kept for the process."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self._pool = pool
        self._settings = settings
        self._ingestors: dict[str, Ingestor] = {}
        self._venues: list[Venue] = []

    def _ingestor(self, venue: str) -> Ingestor:
        if venue in self._ingestors:
            return self._ingestors[venue]
        if venue not in self._settings.venues:
            raise RefreshUnavailable(f"venue {venue} is not enabled")
        adapter = build_venue(venue, self._settings)
        self._venues.append(adapter)
        ingestor = Ingestor(self._pool, adapter, self._settings)
        self._ingestors[venue] = ingestor
        return ingestor

    async def _budgeted(
        self, venue: str, load: Callable[[Ingestor], Awaitable[tuple[T, Any]]]
    ) -> T:
        """Run `load` with its venue requests drawn from the shared budget; raise if it failed.

        Ingestion logs a failed venue call and carries on; the service must
        know, so a refused budget or a venue error becomes `RefreshFailed`.
        """
        ingestor = self._ingestor(venue)
        before = _error_kinds(venue)
        gate = SharedBudgetGate(self._pool, venue, venue_cap_per_minute(venue, self._settings))
        token = REQUEST_GATE.set(gate)
        try:
            result, summary = await load(ingestor)
        finally:
            REQUEST_GATE.reset(token)
        if gate.refusal is not None:
            raise RefreshFailed(str(gate.refusal))
        _check(venue, summary, before)
        return result

    async def refresh_quotes(self, venue: str, market_ids: Sequence[int]) -> None:
        async def load(ingestor: Ingestor) -> tuple[None, Any]:
            return None, await ingestor.refresh_quotes(list(market_ids))

        await self._budgeted(venue, load)

    async def refresh_markets(self, venue: str, market_ids: Sequence[int]) -> None:
        async def load(ingestor: Ingestor) -> tuple[None, Any]:
            return None, await ingestor.refresh_markets(list(market_ids))

        await self._budgeted(venue, load)

    async def discover(self, venue: str, key: str) -> list[int]:
        async def load(ingestor: Ingestor) -> tuple[list[int], Any]:
            ids, summary = await ingestor.discover(key)
            return list(ids), summary

        return await self._budgeted(venue, load)

    async def close(self) -> None:
        for adapter in self._venues:
            try:
                await adapter.close()
            except (OSError, RuntimeError) as exc:  # closing must not mask shutdown
                log.warning("service.venue_close_failed", venue=adapter.name, error=str(exc))
        self._venues.clear()
        self._ingestors.clear()
