"""The worker's periodic upkeep beside the venue loops: gold, retention, the research store.

Every worker process runs this loop; the leases inside (`ops.gold_refresh`,
`ops.retention_runs`) let one of them do each piece of work per cadence. The
daily backup is a task of its own (`backups`), so a long dump never holds the
upkeep back.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from predhub.db import search_words
from predhub.gold import schedule as gold_schedule
from predhub.gold.arbitrage import ArbitrageConfig
from predhub.gold.refresh import GoldConfig
from predhub.match import schedule as match_schedule
from predhub.match.run import MatchConfig
from predhub.scheduler import housekeeping, retention
from predhub.scheduler.worker import DATABASE_ERRORS, Clock
from predhub.settings import Settings

log = structlog.get_logger(__name__)

LOOP_SECONDS_MAX = 5.0


def gold_config(settings: Settings) -> GoldConfig:
    """What the ranked gold tables keep, from settings and each venue's own floor."""
    known = set(settings.venue_top_n())
    venues = tuple(v for v in settings.venues if v in known)
    floors = {v: settings.top_volume_floor(v) for v in venues}
    return GoldConfig(
        venues=venues,
        top_n=settings.venue_top_n(),
        floors=floors,
        overall_n=settings.top_n_markets,
        min_volume=settings.gold_min_volume_usd,
        ranked=settings.gold_ranked_rows,
        arbitrage=ArbitrageConfig(
            freshness_seconds=settings.arbitrage_freshness_seconds,
            min_confidence=settings.arbitrage_min_confidence,
            retention_days=settings.arbitrage_retention_days,
            fee_multipliers=settings.fee_multipliers,
        ),
    )


def gold_cadences(settings: Settings) -> tuple[gold_schedule.Cadence, ...]:
    return (
        gold_schedule.Cadence(gold_schedule.HOT, settings.gold_hot_seconds),
        gold_schedule.Cadence(gold_schedule.WARM, settings.gold_warm_seconds),
    )


def match_config(settings: Settings) -> MatchConfig:
    """The matcher's knobs from settings."""
    return MatchConfig(
        venues=tuple(settings.venues),
        max_token_markets=settings.match_max_token_markets,
        window_days=settings.match_window_days,
        top_k=settings.match_top_k,
        min_confidence=settings.match_min_confidence,
    )


async def upkeep_once(pool: asyncpg.Pool, settings: Settings, owner: str, clock: Clock) -> None:
    """Run whatever gold refresh and retention is due now, and bring the search lists up to date.

    The search lists are read from the change stream every round, beside gold's hot
    refresh: a round that finds no changed market costs one read of the change index.
    One worker reads at a time (the reader's row is locked for a read); another that
    finds it reading keeps nothing this round rather than wait for its batch.
    """
    await gold_schedule.run_due(
        pool,
        gold_config(settings),
        gold_cadences(settings),
        owner,
        now=clock(),
        lease_seconds=settings.worker_lease_seconds,
    )
    async with pool.acquire() as conn:
        kept = await search_words.keep(conn)
    if kept.markets:
        log.info(
            "search.lists_kept",
            markets=kept.markets,
            deleted=kept.deleted,
            inserted=kept.inserted,
        )
    await match_schedule.run_due(
        pool,
        match_config(settings),
        owner,
        now=clock(),
        every=settings.match_interval_seconds,
        lease_seconds=settings.worker_lease_seconds,
    )
    await retention.run_due(pool, settings, now=clock())
    await housekeeping.run_due(pool, settings, now=clock())


async def run_upkeep(
    pool: asyncpg.Pool, settings: Settings, owner: str, clock: Clock, stop: asyncio.Event
) -> None:
    """Upkeep until `stop`; a database failure is logged and tried again next round."""
    pause = min(LOOP_SECONDS_MAX, settings.gold_hot_seconds)
    while not stop.is_set():
        try:
            await upkeep_once(pool, settings, owner, clock)
        except DATABASE_ERRORS as exc:
            log.warning("worker.upkeep_failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
