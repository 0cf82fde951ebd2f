"""Markets the hub has never seen, fetched by id the first time someone asks.

Catalogue loads are how markets normally arrive; an id they have not brought
yet (a market listed a minute ago, a venue's long tail) is looked up at the
venue the id names, through ingestion like any refresh. Only ids that name a
venue without doubt are looked up: `venue:native_id`, or an id form a venue's
descriptor claims (`lookup_ids`: an on-chain condition or token id, a ticker).
A bare word could be any venue's slug,
and guessing would spend rate budget on every typo.

One lookup per id at a time: inside the process a shared future, across
processes a transaction-scoped advisory lock keyed on the id; whoever waited
re-resolves the id in the database before asking the venue again. An id no
venue knew is answered from memory for a minute, so a client retrying a typo
does not spend the venue's budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import asyncpg
import structlog

from predhub.db.errors import DATABASE_FAILURES
from predhub.db.queries import load
from predhub.errors import PredhubError
from predhub.service import metrics
from predhub.service.ids import parse_venue_ref, resolve_ids
from predhub.service.refresh import Refresher
from predhub.service.singleflight import describe, within
from predhub.venues.descriptor import descriptors

_Q = load("service_reads")

log = structlog.get_logger(__name__)

LOCK_NAMESPACE = 0x70726564  # "pred": lookups of never-seen ids
MAX_PER_REQUEST = 25
LOOKUP_TIMEOUT_SECONDS = 15.0
MISS_TTL_SECONDS = 60.0  # an id a venue did not know is not asked about again this soon
_MAX_MISSES = 10_000


def _not_named() -> str:
    """Why an id cannot be looked up, listing the id forms every venue recognises."""
    forms = ["venue:native_id"] + [p.description for d in descriptors() for p in d.lookup_ids]
    listed = ", ".join(forms[:-1]) + f", or {forms[-1]}" if len(forms) > 1 else forms[0]
    return (
        "it is not in the database, and the id does not name a venue to fetch it from "
        f"(use {listed})"
    )


NOT_NAMED = _not_named()

# A market id, or the reason there is none.
Lookup = int | str


def venue_keys(key: str, enabled: Sequence[str]) -> list[tuple[str, str]]:
    """(venue, the venue's id) pairs an id names unambiguously, among enabled venues."""
    ref = parse_venue_ref(key)
    if ref is not None:
        candidates = [ref]
    else:  # the first venue (in registry order) whose id forms match claims the id
        owners = [d.name for d in descriptors() if any(p.matches(key) for p in d.lookup_ids)]
        candidates = [(owners[0], key)] if owners else []
    return [(venue, native) for venue, native in candidates if venue in enabled]


class Discovery:
    """Looks up never-seen ids at their venue, once per id at a time."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        refresher: Refresher,
        enabled_venues: Sequence[str],
        *,
        lock_pool: asyncpg.Pool | None = None,
        timeout: float = LOOKUP_TIMEOUT_SECONDS,
    ) -> None:
        self._pool = pool
        self._lock_pool = lock_pool or pool
        # Lock holders must leave connections for the writes they wait on.
        slots = lock_pool.get_max_size() if lock_pool is not None else pool.get_max_size() // 2
        self._slots = asyncio.Semaphore(max(1, slots))
        self._refresher = refresher
        self._enabled = tuple(enabled_venues)
        self._timeout = timeout
        self._inflight: dict[str, asyncio.Future[Lookup]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._misses: dict[str, tuple[float, str]] = {}

    async def find(self, keys: Sequence[str]) -> dict[str, Lookup]:
        """Each key's market id, fetched from its venue if need be, or why there is none."""
        out: dict[str, Lookup] = {}
        futures: dict[str, asyncio.Future[Lookup]] = {}
        for key in dict.fromkeys(keys):
            if not venue_keys(key, self._enabled):
                out[key] = NOT_NAMED if parse_venue_ref(key) is None else _disabled(key)
                continue
            miss = self._misses.get(key)
            if miss is not None and time.monotonic() - miss[0] < MISS_TTL_SECONDS:
                out[key] = miss[1]
                continue
            running = self._inflight.get(key)
            if running is None:
                running = asyncio.get_running_loop().create_future()
                self._inflight[key] = running
                task = asyncio.create_task(self._lead(key, running))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                metrics.SINGLEFLIGHT_JOINS.labels("process").inc()
            futures[key] = running
        for key, future in futures.items():
            out[key] = await asyncio.shield(future)
        return out

    async def _lead(self, key: str, future: asyncio.Future[Lookup]) -> None:
        result: Lookup = "the lookup did not complete"
        try:
            result = await self._locked_lookup(key)
        except PredhubError as exc:
            result = describe(exc)
        except Exception as exc:
            # A bug: no stored row to fall back on, so the caller gets a 500 (the
            # API logs it with its traceback).
            if not future.done():
                future.set_exception(exc)
        finally:
            self._inflight.pop(key, None)
            if not future.done():
                future.set_result(result)

    async def _locked_lookup(self, key: str) -> Lookup:
        async with self._slots, self._lock_pool.acquire() as conn, conn.transaction():
            await conn.execute(_Q.lock_discovery, LOCK_NAMESPACE, key)
            known = await resolve_ids(conn, [key])
            if key in known:  # another process fetched it while we waited
                metrics.SINGLEFLIGHT_JOINS.labels("cluster").inc()
                return known[key]
            return await self._ask_venues(key)

    async def _ask_venues(self, key: str) -> Lookup:
        reasons: list[str] = []
        failed = False
        for venue, native in venue_keys(key, self._enabled):
            try:
                ids = await within(self._timeout, self._refresher.discover(venue, native))
            except PredhubError as exc:  # anything else is a bug, counted and raised
                metrics.REFRESHES.labels(venue, "error").inc()
                failed = True
                reasons.append(f"{venue} could not be asked: {describe(exc)}")
                continue
            except DATABASE_FAILURES:
                raise  # the database is away: the API answers 503
            except Exception:
                metrics.REFRESH_BUGS.labels(venue).inc()
                raise
            metrics.REFRESHES.labels(venue, "ok").inc()
            if ids:
                log.info("service.discovered", venue=venue, key=key, markets=len(ids))
                known = await resolve_ids(self._pool, [key])
                return known.get(key, ids[0])
            reasons.append(f"{venue} has no market {native!r}")
        reason = "it is not in the database, and " + "; ".join(reasons)
        if not failed:  # every venue asked said it has no such market
            if len(self._misses) > _MAX_MISSES:
                self._misses.clear()
            self._misses[key] = (time.monotonic(), reason)
        return reason

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _disabled(key: str) -> str:
    venue = key.split(":", 1)[0].lower()
    return f"it is not in the database, and venue {venue} is not enabled in this deployment"
