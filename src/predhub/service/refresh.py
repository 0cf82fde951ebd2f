"""How the service refreshes markets: through ingestion, never around it.

The service decides *when* and *which* markets to refresh; ingestion owns *how*
(the venue adapter's cheapest batch call, bronze, silver write-back). The
`Refresher` protocol is that seam: `IngestRefresher` is the real one, built on
`predhub.ingest.pipeline.Ingestor` and `predhub.venues.registry.build_venue`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import asyncpg
import structlog

from predhub.ingest.pipeline import Ingestor
from predhub.ingest.summary import LoadSummary
from predhub.service.errors import RefreshUnavailable as RefreshUnavailable
from predhub.settings import Settings
from predhub.venues.base import Venue
from predhub.venues.budget import VenueBudget, drawing
from predhub.venues.registry import build_venue

log = structlog.get_logger(__name__)

T = TypeVar("T")


class Refresher(Protocol):
    """Fetch these markets of one venue and write them back to silver.

    A failed venue call raises `predhub.ingest.errors.LoadFailed` (or the
    venue's own error); anything that is not a `PredhubError` is a bug.
    """

    async def refresh_quotes(self, venue: str, market_ids: Sequence[int]) -> None: ...

    async def refresh_markets(self, venue: str, market_ids: Sequence[int]) -> None: ...

    async def discover(self, venue: str, key: str) -> list[int]:
        """Load the markets a venue id names (never loaded before); their ids, or none."""
        ...

    async def close(self) -> None: ...


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
        self, venue: str, load: Callable[[Ingestor], Awaitable[tuple[T, LoadSummary]]]
    ) -> T:
        """Run `load` with its venue requests drawn from the shared budget; raise if it failed.

        Each request reserves one of the minute's budget (the hub's whole cap:
        a refresh may use what workers left); when the minute is spent the
        request is refused at once rather than waiting, and the caller is
        served the stored row, stale, with the refusal as the reason. A failed
        venue call (the refusal included) is in the load's summary, which
        raises it as `LoadFailed`.
        """
        ingestor = self._ingestor(venue)
        budget = VenueBudget.for_refreshes(self._pool, venue, self._settings)
        with drawing(budget.allowance(wait=False, block=1)):
            result, summary = await load(ingestor)
        summary.raise_failures()
        return result

    async def refresh_quotes(self, venue: str, market_ids: Sequence[int]) -> None:
        async def load(ingestor: Ingestor) -> tuple[None, LoadSummary]:
            return None, await ingestor.refresh_quotes(list(market_ids))

        await self._budgeted(venue, load)

    async def refresh_markets(self, venue: str, market_ids: Sequence[int]) -> None:
        async def load(ingestor: Ingestor) -> tuple[None, LoadSummary]:
            return None, await ingestor.refresh_markets(list(market_ids))

        await self._budgeted(venue, load)

    async def discover(self, venue: str, key: str) -> list[int]:
        async def load(ingestor: Ingestor) -> tuple[list[int], LoadSummary]:
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
