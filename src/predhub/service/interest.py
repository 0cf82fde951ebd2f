"""Interest marking: markets that callers ask for become hot for the scheduler.

Every answered market id is remembered in memory and written to
`silver.market_sync.interest_at` (the narrow sync row, never the wide market row)
in one statement per second, skipping rows marked
within the last `min_interval` seconds, so a busy API costs the database one
small update a second rather than one per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg
import structlog

from predhub.service import queries
from predhub.tasks import cancel_and_wait

log = structlog.get_logger(__name__)


class InterestMarker:
    def __init__(
        self, pool: asyncpg.Pool, *, interval: float = 1.0, min_interval: float = 30.0
    ) -> None:
        self._pool = pool
        self._interval = interval
        self._min_interval = min_interval
        self._pending: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def mark(self, market_ids: Iterable[int]) -> None:
        self._pending.update(market_ids)

    async def flush(self) -> int:
        if not self._pending:
            return 0
        ids, self._pending = sorted(self._pending), set()
        try:
            await self._pool.execute(queries.MARK_INTEREST, ids, self._min_interval)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("service.interest_flush_failed", markets=len(ids), error=str(exc))
            self._pending.update(ids)
            return 0
        return len(ids)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="predhub-interest")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()
