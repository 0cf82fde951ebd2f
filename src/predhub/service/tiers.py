"""Freshness tiers: how old a row may be for each use case.

Defaults come from settings (T1 execution 30 s, T2a feed 2 s, T2b portfolio
15 s, T3 dashboard 2 min, T4 background 15 min); a deployment overrides any of
them, or adds its own, in `ops.freshness_tiers` without a restart. The table is
re-read at most every `RELOAD_SECONDS`, so tuning takes effect within a minute.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import asyncpg

from predhub.db.queries import load
from predhub.service.errors import BadRequest, UnknownTier
from predhub.settings import Settings

_Q = load("service_reads")

RELOAD_SECONDS = 30.0
DEFAULT_TIER = "T3"

# Friendly names callers may use instead of the tier codes.
ALIASES: dict[str, str] = {
    "execution": "T1",
    "feed": "T2a",
    "portfolio": "T2b",
    "dashboard": "T3",
    "background": "T4",
}


@dataclass(frozen=True, slots=True)
class Freshness:
    """What one request asked for: a tier name and the max age it stands for."""

    tier: str
    max_age: float


def default_tiers(settings: Settings) -> dict[str, float]:
    return {
        "T1": settings.tier_t1_seconds,
        "T2a": settings.tier_t2a_seconds,
        "T2b": settings.tier_t2b_seconds,
        "T3": settings.tier_t3_seconds,
        "T4": settings.tier_t4_seconds,
    }


def canonical_tier(name: str, known: dict[str, float]) -> str:
    """The tier's canonical spelling (case-insensitive, aliases allowed)."""
    lowered = name.strip().lower()
    if lowered in ALIASES:
        return ALIASES[lowered]
    for known_name in known:
        if known_name.lower() == lowered:
            return known_name
    raise UnknownTier(
        f"unknown tier {name!r}; known tiers: {', '.join(sorted(known))} "
        f"(or {', '.join(sorted(ALIASES))})",
        tier=name,
    )


def resolve_freshness(
    tiers: dict[str, float], tier: str | None, max_age: float | None
) -> Freshness:
    """Turn a request's `tier` and/or `max_age` into one `Freshness`.

    An explicit `max_age` wins over the tier's age; the tier is still reported
    (as "custom" when only `max_age` was given).
    """
    if max_age is not None:
        if not math.isfinite(max_age) or max_age < 0:
            raise BadRequest("max_age must be a non-negative number of seconds", max_age=max_age)
        name = canonical_tier(tier, tiers) if tier else "custom"
        return Freshness(name, float(max_age))
    name = canonical_tier(tier, tiers) if tier else DEFAULT_TIER
    return Freshness(name, tiers[name])


class TierTable:
    """Settings defaults overlaid by `ops.freshness_tiers`, re-read periodically."""

    def __init__(self, settings: Settings) -> None:
        self._defaults = default_tiers(settings)
        self._tiers = dict(self._defaults)
        self._loaded_at = -math.inf

    @property
    def tiers(self) -> dict[str, float]:
        return self._tiers

    async def load(self, pool: asyncpg.Pool) -> dict[str, float]:
        rows = await pool.fetch(_Q.freshness_tiers)
        merged = dict(self._defaults)
        for row in rows:
            try:
                name = canonical_tier(row["name"], merged)
            except UnknownTier:
                name = row["name"]
            merged[name] = float(row["max_age_seconds"])
        self._tiers = merged
        self._loaded_at = time.monotonic()
        return merged

    def reload_due(self) -> bool:
        """Whether the next `current` would read the database (the fast path then steps aside)."""
        return time.monotonic() - self._loaded_at > RELOAD_SECONDS

    async def current(self, pool: asyncpg.Pool) -> dict[str, float]:
        if time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            await self.load(pool)
        return self._tiers

    def resolve(self, tier: str | None, max_age: float | None) -> Freshness:
        return resolve_freshness(self._tiers, tier, max_age)
