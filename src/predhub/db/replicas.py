"""API reads on streaming replicas, with each answer's lag accounted for.

`DATABASE_READ_URLS` names standby servers (streaming replication) that carry
the API's reads; writes, the single-flight's locks and the LISTEN connection
stay on the primary. A replica's data is what the primary had some time ago,
so a router probes every replica about once a second and keeps, per replica,
the moment its data is known complete up to (`view_as_of`):

- the replica has replayed at least the primary's WAL position read just
  before (compared as LSNs): it holds everything committed by then, so the
  probe's start is its `view_as_of`, even when the primary has been idle for
  an hour (the commit-time clue alone would call such a replica an hour late);
- otherwise it is behind: it holds every transaction up to the last one it
  replayed, so that commit's timestamp (`pg_last_xact_replay_timestamp()`) is
  its `view_as_of`; a paused or stuck replica's lag keeps growing from there.

A read takes the replica's lag (now - `view_as_of`, at most the probe period
on a current replica) along with its pool, so the answer can say how old the
view it read was. A replica whose lag passed `DATABASE_READ_MAX_LAG_SECONDS`,
that stopped answering, or that is no standby (promoted, or the primary named
by mistake) is skipped until a probe finds it fit again; with none fit, reads
go to the primary with no lag. Lag is measured on the probing process's clock
against the primary's commit stamps, so clock skew between machines adds to
it (keep them on NTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import structlog

from predhub.db.connect import create_pool
from predhub.db.errors import DATABASE_FAILURES, DatabaseUnavailable
from predhub.db.queries import load
from predhub.settings import mask_url

log = structlog.get_logger(__name__)
_Q = load("replicas")

PROBE_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 2.0
# A replica that fails a probe this way is unfit until a later probe finds it well.
_PROBE_FAILURES: tuple[type[BaseException], ...] = (
    *DATABASE_FAILURES,
    TimeoutError,
    DatabaseUnavailable,
)


@dataclass(frozen=True, slots=True)
class ReadTarget:
    """Where one read goes: the pool, which replica (None: the primary) and its lag."""

    pool: asyncpg.Pool
    replica: str | None = None
    lag: float = 0.0
    view_as_of: datetime | None = None  # on a replica: its data is complete up to here

    @property
    def on_replica(self) -> bool:
        return self.replica is not None


@dataclass
class Replica:
    """One standby: its pool (None until it could be reached) and its last probe."""

    url: str
    pool: asyncpg.Pool | None = None
    view_as_of: datetime | None = None  # its data is complete up to here; None: unfit
    problem: str | None = "not probed yet"
    reads: int = field(default=0)

    @property
    def name(self) -> str:
        return mask_url(self.url)

    def lag(self, now: datetime) -> float | None:
        if self.view_as_of is None or self.pool is None:
            return None
        return max(0.0, (now - self.view_as_of).total_seconds())


def view_as_of(
    *,
    primary_lsn: int,
    probed_at: datetime,
    in_recovery: bool,
    replay_lsn: int | None,
    replayed_at: datetime | None,
) -> tuple[datetime | None, str | None]:
    """(when a replica's data is complete up to, or None; why it is unfit, or None).

    Pure, so the rule is tested on its own: caught up means replayed at least
    the primary's position read at `probed_at`; behind means complete up to
    its last replayed commit; a server not in recovery is no replica.
    """
    if not in_recovery:
        return None, "not a standby (pg_is_in_recovery() is false)"
    if replay_lsn is None:
        return None, "has replayed no WAL yet"
    if replay_lsn >= primary_lsn:
        return probed_at, None
    if replayed_at is None:
        return None, "behind the primary and has replayed no transaction yet"
    return min(replayed_at, probed_at), None


class ReadRouter:
    """Chooses, for each read, a replica fit to serve it, or the primary.

    Choosing is a plain function call (no await, no round trip): the probe task
    keeps the replicas' standing current in the background.
    """

    def __init__(
        self,
        primary: asyncpg.Pool,
        urls: Sequence[str] = (),
        *,
        max_lag: float = 10.0,
        pool_min: int = 1,
        pool_max: int = 10,
        statement_cache_size: int | None = None,
        probe_seconds: float = PROBE_SECONDS,
    ) -> None:
        self.primary = primary
        self.replicas = [Replica(url) for url in urls]
        self.max_lag = max_lag
        self.probe_seconds = probe_seconds
        self._pool_args = (pool_min, pool_max, statement_cache_size)
        self._turn = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._primary_target = ReadTarget(primary)

    async def start(self) -> None:
        """Probe once (so the first reads already use fit replicas), then keep probing."""
        if not self.replicas:
            return
        await self.probe()
        self._task = asyncio.create_task(self._probe_forever(), name="predhub-replica-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for replica in self.replicas:
            pool, replica.pool = replica.pool, None
            if pool is not None:
                with contextlib.suppress(*DATABASE_FAILURES):
                    await asyncio.wait_for(pool.close(), timeout=5)

    def target(self, *, primary: bool = False) -> ReadTarget:
        """A fit replica in turn (with its lag), else the primary; `primary` forces it."""
        if primary or not self.replicas:
            return self._primary_target
        now = datetime.now(UTC)
        fit: list[tuple[Replica, float]] = []
        for replica in self.replicas:
            lag = replica.lag(now)
            if lag is not None and lag <= self.max_lag:
                fit.append((replica, lag))
        if not fit:
            return self._primary_target
        replica, lag = fit[next(self._turn) % len(fit)]
        assert replica.pool is not None  # lag() is None without a pool
        replica.reads += 1
        return ReadTarget(replica.pool, replica.name, lag, replica.view_as_of)

    def standing(self) -> list[dict[str, object]]:
        """Each replica's name, lag, whether reads go to it and why not (for status pages)."""
        now = datetime.now(UTC)
        out: list[dict[str, object]] = []
        for replica in self.replicas:
            lag = replica.lag(now)
            problem = replica.problem
            if problem is None and lag is not None and lag > self.max_lag:
                problem = f"{lag:.1f} s behind, past DATABASE_READ_MAX_LAG_SECONDS"
            out.append(
                {
                    "replica": replica.name,
                    "lag_seconds": None if lag is None else round(lag, 3),
                    "used": problem is None,
                    "problem": problem,
                    "reads": replica.reads,
                }
            )
        return out

    async def _probe_forever(self) -> None:
        while True:
            await asyncio.sleep(self.probe_seconds)
            try:
                await self.probe()
            except _PROBE_FAILURES as exc:
                # The primary is away: replicas keep their last standing, so their lag
                # grows and they are skipped past the limit until a probe succeeds.
                log.warning("replicas.probe_failed", error=str(exc) or type(exc).__name__)

    async def probe(self) -> None:
        """Read the primary's WAL position, then each replica's standing against it."""
        probed_at = datetime.now(UTC)
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            row = await self.primary.fetchrow(_Q.primary_lsn)
        assert row is not None
        primary_lsn = int(row["lsn"])
        await asyncio.gather(*(self._probe_one(r, primary_lsn, probed_at) for r in self.replicas))

    async def _probe_one(self, replica: Replica, primary_lsn: int, probed_at: datetime) -> None:
        before = replica.problem
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                if replica.pool is None:
                    low, high, cache = self._pool_args
                    replica.pool = await create_pool(
                        replica.url, min_size=low, max_size=high, statement_cache_size=cache
                    )
                row = await replica.pool.fetchrow(_Q.replica_position)
        except _PROBE_FAILURES as exc:
            replica.view_as_of, replica.problem = None, f"unreachable: {exc}"
        else:
            assert row is not None
            replica.view_as_of, replica.problem = view_as_of(
                primary_lsn=primary_lsn,
                probed_at=probed_at,
                in_recovery=bool(row["in_recovery"]),
                replay_lsn=row["replay_lsn"],
                replayed_at=row["replayed_at"],
            )
        if replica.problem != before:
            log.info("replicas.standing", replica=replica.name, problem=replica.problem)
