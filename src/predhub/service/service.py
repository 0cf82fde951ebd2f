"""The market data service: every read of market prices goes through here.

Read path for a batch of ids (one id is a batch of one):

1. resolve each id form to our market id (one query, remembered in-process);
2. take each market's snapshot from the in-process cache, or read the missing
   ones from the database in one query;
3. decide per market (`freshness.decide`): fresh, closed and resolved rows are
   served as they are; stale or missing ones are refreshed through the
   single-flight, grouped per venue into batch calls;
4. re-read the refreshed rows and answer; a failed or slow refresh serves the
   last known row with `stale: true` and the reason, never an error;
5. remember the markets as wanted, for the scheduler.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from prometheus_client import Counter as Counter_

from predhub.db import migrate, monitor
from predhub.db.migrate import SchemaStatus
from predhub.db.replicas import ReadRouter, ReadTarget
from predhub.service import metrics, queries
from predhub.service.accounts import REFRESH_GATE, AccountStore
from predhub.service.cache import SnapshotCache
from predhub.service.catalog import CatalogReads
from predhub.service.discover import MAX_PER_REQUEST as DISCOVER_PER_REQUEST
from predhub.service.discover import Discovery
from predhub.service.errors import MarketNotFound, ServiceError, TooManyIds
from predhub.service.freshness import (
    DATABASE_ONLY_REASON,
    CacheState,
    Decision,
    decide,
)
from predhub.service.gold import GoldReader
from predhub.service.history import HistoryReads
from predhub.service.ids import resolve_ids, validate_id
from predhub.service.interest import InterestMarker
from predhub.service.matches import MatchReader
from predhub.service.notify import MARKETS_CHANNEL, QUOTES_CHANNEL, Listener
from predhub.service.payload import Snapshot, answer_fields, render
from predhub.service.refresh import Refresher
from predhub.service.research import ResearchStore
from predhub.service.singleflight import Outcome, SingleFlight, wait_outcomes
from predhub.service.status import SizeCache, read_status
from predhub.service.tiers import Freshness, TierTable
from predhub.settings import Settings

log = structlog.get_logger(__name__)

MAX_BATCH_IDS = 1000
MAX_DISCOVER_IDS = DISCOVER_PER_REQUEST
DEFAULT_REFRESH_WAIT = 5.0
NO_REFRESHER_REASON = "no refresh path is configured in this process"
NO_CURRENT_DATA_REASON = "the venue returned no current data for this market"
# Refreshes one request may start for a market whose joined refresh fetched before it asked.
REFRESH_ROUNDS = 3
_MAX_KEYS = 200_000
# Label lookups cost more than increments on the hot path: keep the children.
_CACHE_HIT = metrics.CACHE_EVENTS.labels("hit")
_CACHE_MISS = metrics.CACHE_EVENTS.labels("miss")


def unknown_market(key: str, why: str | None = None) -> MarketNotFound:
    why = why or (
        "it is not in the database, and this process fetches nothing from the venues"
        " (DATABASE_ONLY_MODE, or no refresh path)"
    )
    return MarketNotFound(f"no market matches id {key!r}: {why}", id=key, reason="unknown_market")


@dataclass(slots=True)
class Answer:
    """One requested id's answer: the rendered market, or why there is none."""

    key: str
    market_id: int | None
    body: bytes | None = None
    cache: CacheState | None = None
    error: ServiceError | None = None


class MarketDataService(CatalogReads, HistoryReads):
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        *,
        refresher: Refresher | None = None,
        listener: Listener | None = None,
        refresh_wait: float = DEFAULT_REFRESH_WAIT,
        cache: SnapshotCache | None = None,
        lock_pool: asyncpg.Pool | None = None,
        reads: ReadRouter | None = None,
    ) -> None:
        self.pool = pool  # the primary: writes, and reads that must see them
        self.reads = reads
        self._primary_target = ReadTarget(pool)
        self.settings = settings
        self.tiers = TierTable(settings)
        self.gold = GoldReader(lambda: self.read_pool)
        self.matches = MatchReader(pool)
        self.cache = cache or SnapshotCache(ttl=settings.db_cache_ttl_seconds)
        self.sizes = SizeCache()  # the status report's database size, measured once a minute
        self.listener = listener
        self.refresher = refresher
        self.flight = (
            SingleFlight(pool, refresher, lock_pool=lock_pool) if refresher is not None else None
        )
        self.discovery = (
            Discovery(pool, refresher, settings.venues, lock_pool=lock_pool)
            if refresher is not None and not settings.database_only_mode
            else None
        )
        self.interest = InterestMarker(pool)
        self.accounts = AccountStore(pool)
        self.research = ResearchStore(pool)
        self.refresh_wait = refresh_wait
        self.database_only = settings.database_only_mode
        self._keys: dict[str, int] = {}
        self._answer_counters: dict[str, Counter_] = {}
        if listener is None:
            self.cache.enabled = False  # nothing would tell us when rows change
        else:
            listener.subscribe(self._on_notify)
            listener.on_reset(self._on_reset)

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self.tiers.load(self.pool)
        self.interest.start()

    async def stop(self) -> None:
        await self.interest.stop()
        if self.flight is not None:
            await self.flight.close()
        if self.discovery is not None:
            await self.discovery.close()

    def _on_notify(self, channel: str, ids: list[int]) -> None:
        if channel in (QUOTES_CHANNEL, MARKETS_CHANNEL):
            self.cache.invalidate(ids)
            metrics.CACHE_EVENTS.labels("invalidated").inc(len(ids))

    def _on_reset(self) -> None:
        self.cache.clear()
        self._keys.clear()

    # ------------------------------------------------------------ building blocks
    def read_target(self, *, primary: bool = False) -> ReadTarget:
        """Where a read goes: a replica fit to serve it (DATABASE_READ_URLS), else the primary."""
        if self.reads is None:
            return self._primary_target
        return self.reads.target(primary=primary)

    @property
    def read_pool(self) -> asyncpg.Pool:
        """The pool of the next read that may come from a replica (lists, history, gold)."""
        return self.read_target().pool

    async def tier_table(self) -> dict[str, float]:
        """The freshness tiers with their maximum ages (reloaded when due)."""
        return await self.tiers.current(self.pool)

    async def database_report(self, *, top: int, long_seconds: float) -> dict[str, Any]:
        """Database health for admins (`predhub.db.monitor`)."""
        return await monitor.report(self.pool, top=top, long_seconds=long_seconds)

    async def hub_status(self, *, details: bool = True) -> dict[str, Any]:
        """Budgets, jobs, errors, quarantine and size (`predhub.service.status`), from the
        primary: the workers' counters are its most recent writes; error texts only
        with `details`."""
        return await read_status(self.pool, self.settings, details=details, sizes=self.sizes)

    async def schema_status(self) -> SchemaStatus:
        """Whether the database answers (within 2 s) and its schema is current: readiness."""
        async with self.pool.acquire(timeout=2) as conn:
            return await migrate.status(conn)

    async def freshness(self, tier: str | None, max_age: float | None) -> Freshness:
        await self.tiers.current(self.pool)
        return self.tiers.resolve(tier, max_age)

    async def resolve(self, keys: Iterable[str]) -> dict[str, int]:
        """Known keys to market ids; unknown keys are absent."""
        found: dict[str, int] = {}
        missing: list[str] = []
        for key in keys:
            market_id = self._keys.get(key)
            if market_id is None:
                missing.append(key)
            else:
                found[key] = market_id
        if missing:
            resolved = await resolve_ids(self.read_pool, missing)
            if len(self._keys) > _MAX_KEYS:
                self._keys.clear()
            self._keys.update(resolved)
            found.update(resolved)
        return found

    async def resolve_one(self, key: str) -> int:
        key = validate_id(key)
        found = await self.resolve([key])
        if key not in found:
            why = await self._discover([key], found)
            if key not in found:
                raise unknown_market(key, why.get(key) or None)
        return found[key]

    async def snapshots(
        self, market_ids: Iterable[int], *, from_database: bool = False
    ) -> dict[int, Snapshot]:
        out: dict[int, Snapshot] = {}
        missing: list[int] = []
        for market_id in market_ids:
            snap = None if from_database else self.cache.get(market_id)
            if snap is None:
                missing.append(market_id)
            else:
                out[market_id] = snap
        if not from_database:
            _CACHE_HIT.inc(len(out))
            _CACHE_MISS.inc(len(missing))
        if missing:
            tokens = {market_id: self.cache.token(market_id) for market_id in missing}
            # Re-reads after a refresh must see what it wrote: those go to the primary.
            target = self.read_target(primary=from_database)
            rows = await target.pool.fetch(queries.MARKET_SNAPSHOTS, missing)
            ttl = self.reads.max_lag if target.on_replica and self.reads is not None else None
            for row in rows:
                snap = Snapshot.from_row(row, view_as_of=target.view_as_of)
                self.cache.put(snap, tokens[snap.id], ttl=ttl)
                out[snap.id] = snap
        return out

    # ------------------------------------------------------------ the read path
    def cached_price(self, key: str, tier: str | None, max_age: float | None) -> bytes | None:
        """One market's answer when the cache alone can give it, else None.

        The hot path of the API: no await, no database round trip, no validation
        beyond what the full path already did when it remembered the key. Whatever
        it cannot answer exactly as `price` would (unknown key, empty cache entry,
        stale row, tier table due for a reload, bad tier) returns None, and the
        caller takes the full path, which also produces every error.
        """
        if not self.cache.enabled or self.tiers.reload_due():
            return None
        market_id = self._keys.get(key)  # only keys that passed `validate_id` are here
        if market_id is None:
            return None
        snap = self.cache.get(market_id)
        if snap is None:
            return None
        try:
            freshness = self.tiers.resolve(tier, max_age)
        except ServiceError:
            return None
        now = datetime.now(UTC)
        decision = decide(
            status=snap.status,
            synced_at=snap.quotes_synced_at,
            now=now,
            max_age=freshness.max_age,
            database_only=self.database_only,
        )
        if decision is not Decision.SERVE:
            return None
        self.interest.mark((market_id,))
        _CACHE_HIT.inc()
        answered = self._answer_counters.get(freshness.tier)
        if answered is None:
            answered = metrics.ANSWERS.labels(freshness.tier, CacheState.HIT.value)
            self._answer_counters[freshness.tier] = answered
        answered.inc()
        fields = answer_fields(
            tier=freshness.tier,
            max_age=freshness.max_age,
            cache=CacheState.HIT,
            stale_reason=None,
            synced_at=snap.quotes_synced_at,
            now=now,
            view_as_of=snap.view_as_of,
        )
        return render(snap, fields)

    async def prices(
        self, keys: Sequence[str], freshness: Freshness, *, live: bool = False
    ) -> list[Answer]:
        """One answer per key, in order; refreshes what the freshness requires."""
        if len(keys) > MAX_BATCH_IDS:
            raise TooManyIds(
                f"at most {MAX_BATCH_IDS} ids per request, got {len(keys)}", count=len(keys)
            )
        clean = [validate_id(k) for k in keys]
        resolved = await self.resolve(clean)
        unknown = await self._discover([k for k in clean if k not in resolved], resolved)
        discovered = {resolved[k] for k, why in unknown.items() if not why}
        snaps = await self.snapshots(set(resolved.values()))
        now = datetime.now(UTC)

        states: dict[int, tuple[CacheState, str | None]] = {}
        to_refresh: dict[int, str] = {}
        for market_id, snap in snaps.items():
            if market_id in discovered:
                states[market_id] = (CacheState.REFRESHED, None)
                continue
            decision = decide(
                status=snap.status,
                synced_at=snap.quotes_synced_at,
                now=now,
                max_age=0.0 if live else freshness.max_age,
                database_only=self.database_only,
            )
            if live and decision is Decision.SERVE and snap.status == "open":
                decision = Decision.SERVE_STALE if self.database_only else Decision.REFRESH
            if decision is Decision.SERVE:
                states[market_id] = (CacheState.HIT, None)
            elif decision is Decision.SERVE_STALE:
                states[market_id] = (CacheState.STALE, DATABASE_ONLY_REASON)
            else:
                to_refresh[market_id] = snap.venue

        gate = REFRESH_GATE.get()
        refused = None if not to_refresh or gate is None else await gate(len(to_refresh))
        if refused is not None:  # the caller's refresh allowance is spent: serve what we have
            for market_id in to_refresh:
                states[market_id] = (CacheState.STALE, refused)
        elif to_refresh:
            max_age = 0.0 if live else freshness.max_age
            outcomes = await self._refresh_until_fresh(
                to_refresh, snaps, arrived=now, max_age=max_age, force=live
            )
            for market_id, reason in outcomes.items():
                states[market_id] = (
                    (CacheState.REFRESHED, None) if reason is None else (CacheState.STALE, reason)
                )

        self.interest.mark(snaps)
        counts: Counter[str] = Counter()
        answers: list[Answer] = []
        for key in clean:
            found = resolved.get(key)
            if found is None or found not in snaps:
                answers.append(
                    Answer(key, None, error=unknown_market(key, unknown.get(key) or None))
                )
                continue
            snap = snaps[found]
            state, reason = states[found]
            counts[state.value] += 1
            fields = answer_fields(
                tier=freshness.tier,
                max_age=freshness.max_age,
                cache=state,
                stale_reason=reason,
                synced_at=snap.quotes_synced_at,
                now=now,
                view_as_of=snap.view_as_of,
            )
            answers.append(Answer(key, found, render(snap, fields), state))
        for state_name, n in counts.items():
            metrics.ANSWERS.labels(freshness.tier, state_name).inc(n)
        return answers

    async def _discover(self, keys: Sequence[str], resolved: dict[str, int]) -> dict[str, str]:
        """Fetch never-seen markets from their venues; adds what it found to `resolved`.

        Returns every key looked at, mapped to why it is still unknown ("" when found).
        """
        if not keys or self.discovery is None:
            return {}
        wanted = list(dict.fromkeys(keys))
        looked = wanted[:MAX_DISCOVER_IDS]
        out = dict.fromkeys(
            wanted[MAX_DISCOVER_IDS:],
            f"it is not in the database, and at most {MAX_DISCOVER_IDS} never-seen ids are"
            " fetched from the venues per request",
        )
        for key, found in (await self.discovery.find(looked)).items():
            if isinstance(found, int):
                resolved[key] = found
                self._keys[key] = found
                out[key] = ""
            else:
                out[key] = found
        return out

    async def price(self, key: str, freshness: Freshness, *, live: bool = False) -> Answer:
        answer = (await self.prices([key], freshness, live=live))[0]
        if answer.error is not None:
            raise answer.error
        return answer

    async def _refresh_until_fresh(
        self,
        venues: dict[int, str],
        snaps: dict[int, Snapshot],
        *,
        arrived: datetime,
        max_age: float,
        force: bool,
    ) -> dict[int, Outcome]:
        """Refresh until each row is fresh for a caller that arrived at `arrived`.

        Fresh means synced at or after `arrived - max_age`: a refresh that ended
        after the caller asked serves it, even with a max age of 0. A joined
        refresh (of this process or another) may have fetched before the caller
        asked; its row is then too old for this caller, and the market is
        refreshed again rather than answered stale, a few rounds at most within
        the refresh wait. Refreshed rows are put in `snaps`.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.refresh_wait
        not_before = arrived - timedelta(seconds=max_age)
        outcomes: dict[int, Outcome] = {}
        pending = dict(venues)
        for _ in range(REFRESH_ROUNDS):
            got = await self._refresh(pending, not_before, force=force, wait=deadline - loop.time())
            ok = [market_id for market_id, reason in got.items() if reason is None]
            if ok:
                snaps.update(await self.snapshots(ok, from_database=True))
            pending = {}
            for market_id, reason in got.items():
                snap = snaps[market_id]
                too_old = reason is None and (
                    decide(
                        status=snap.status,
                        synced_at=snap.quotes_synced_at,
                        now=arrived,
                        max_age=max_age,
                    )
                    is Decision.REFRESH
                )
                if too_old:
                    pending[market_id] = venues[market_id]
                else:
                    outcomes[market_id] = reason
            if not pending or loop.time() >= deadline:
                break
        outcomes.update(dict.fromkeys(pending, NO_CURRENT_DATA_REASON))
        return outcomes

    async def _refresh(
        self, venues: dict[int, str], not_before: datetime, *, force: bool, wait: float
    ) -> dict[int, Outcome]:
        if self.flight is None:
            return dict.fromkeys(venues, NO_REFRESHER_REASON)
        outcomes: dict[int, Outcome] = {}
        wanted: dict[int, str] = {}
        for market_id, venue in venues.items():
            failure = self.flight.recent_failure(venue)
            if failure is not None:
                outcomes[market_id] = f"{venue} failed just now: {failure}"
            else:
                wanted[market_id] = venue
        if wanted:
            futures = self.flight.start(wanted, not_before, force=force)
            outcomes.update(await wait_outcomes(futures, max(0.0, wait)))
        return outcomes
