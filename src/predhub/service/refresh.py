"""How the service refreshes markets: through ingestion, never around it.

The service decides *when* and *which* markets to refresh; ingestion owns *how*
(the venue adapter's cheapest batch call, bronze, silver write-back). The
`Refresher` protocol is that seam: `IngestRefresher` is the real one, built on
`predhub.ingest.pipeline.Ingestor` and `predhub.venues.registry.build_venue`.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg
import structlog

from predhub.settings import Settings

log = structlog.get_logger(__name__)


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
    try:
        metrics = importlib.import_module("predhub.venues.metrics")
    except ModuleNotFoundError:
        return Counter()
    kinds: Counter[str] = metrics.VENUE_METRICS.venue_totals(venue).errors
    return Counter(kinds)


def _check(venue: str, summary: Any, before: Counter[str]) -> None:
    """Ingestion logs failed venue calls and carries on; the service must know of them."""
    failures = int(getattr(summary, "failures", 0) or 0)
    if failures <= 0:
        return
    kinds = _error_kinds(venue) - before
    how = ", ".join(f"{kind} x{n}" for kind, n in sorted(kinds.items())) or "request failed"
    raise RefreshFailed(f"{venue} did not answer ({how})")


class IngestRefresher:
    """One `Ingestor` per venue, built on first use and kept for the process."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self._pool = pool
        self._settings = settings
        self._ingestors: dict[str, Any] = {}
        self._venues: list[Any] = []

    def _ingestor(self, venue: str) -> Any:
        if venue in self._ingestors:
            return self._ingestors[venue]
        if venue not in self._settings.venues:
            raise RefreshUnavailable(f"venue {venue} is not enabled")
        try:
            registry = importlib.import_module("predhub.venues.registry")
            pipeline = importlib.import_module("predhub.ingest.pipeline")
        except ModuleNotFoundError as exc:
            raise RefreshUnavailable(f"no refresh path: {exc}") from exc
        adapter = registry.build_venue(venue, self._settings)
        self._venues.append(adapter)
        ingestor = pipeline.Ingestor(self._pool, adapter, self._settings)
        self._ingestors[venue] = ingestor
        return ingestor

    async def refresh_quotes(self, venue: str, market_ids: Sequence[int]) -> None:
        ingestor = self._ingestor(venue)
        before = _error_kinds(venue)
        _check(venue, await ingestor.refresh_quotes(list(market_ids)), before)

    async def refresh_markets(self, venue: str, market_ids: Sequence[int]) -> None:
        ingestor = self._ingestor(venue)
        before = _error_kinds(venue)
        _check(venue, await ingestor.refresh_markets(list(market_ids)), before)

    async def discover(self, venue: str, key: str) -> list[int]:
        ingestor = self._ingestor(venue)
        before = _error_kinds(venue)
        ids, summary = await ingestor.discover(key)
        _check(venue, summary, before)
        return list(ids)

    async def close(self) -> None:
        for adapter in self._venues:
            try:
                await adapter.close()
            except (OSError, RuntimeError) as exc:  # closing must not mask shutdown
                log.warning("service.venue_close_failed", venue=adapter.name, error=str(exc))
        self._venues.clear()
        self._ingestors.clear()
