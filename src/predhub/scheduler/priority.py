"""Sync priority rules, applied to the markets of a venue whose priority is due.

The rules, first match wins:

1. resolved or voided within `recently_closed_days` → low (one last pass collects
   the final trades and metadata), earlier → archived (final, never polled);
2. asked for by an API caller within `hot_interest_minutes` → high;
3. open, and trading at least `high_volume_24h_usd` in 24 h or closing within
   `closing_soon_hours` → high;
4. open → normal;
5. closed (trading stopped, outcome pending) within `recently_closed_days` → normal;
6. closed longer ago → low.

A market's priority changes only when its inputs change (status, dates, volume,
interest) or when time passes one of the rules' thresholds. So each sync row
keeps the next such time (`priority_until`), and a change of the inputs is
logged (`ops.priority_changes`, by a trigger of the market row; an API
caller's interest makes its row due in the same write): a cycle re-derives
only the logged and due rows, index ranges, and a steady catalogue costs
neither a scan nor a write. The stored times hold for the thresholds they were
computed with, so when the thresholds change (or the clock goes back) every
market of the venue is re-derived once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from predhub.db.queries import load
from predhub.settings import Settings

_Q = load("scheduler_worker")

# Due priorities re-derived per cycle at most: a catalogue whose every row fell due at once
# (a first load, the upgrade that added the stored times) settles over a few cycles.
PRIORITY_BATCH = 20_000

_RECOMPUTE = _Q.recompute_priorities


@dataclass(frozen=True, slots=True)
class Recomputed:
    """What one application of the rules did."""

    changed: int  # markets whose priority changed
    written: int  # sync rows written (a priority or its next threshold moved)
    everything: bool  # every market of the venue was re-derived (thresholds changed)


def rules_key(settings: Settings) -> str:
    """The thresholds the rules read, as stored beside the venue's last application."""
    return (
        f"hot={settings.hot_interest_minutes}m volume={settings.high_volume_24h_usd}"
        f" closing={settings.closing_soon_hours}h recent={settings.recently_closed_days}d"
    )


async def apply_priority_rules(
    conn: asyncpg.Connection, venue: str, settings: Settings, now: datetime
) -> Recomputed:
    """Re-derive `sync_priority` for the markets of `venue` whose priority is due at `now`
    (all of them when the thresholds changed since the last application)."""
    async with conn.transaction():
        everything = bool(
            await conn.fetchval(_Q.priority_rules_seen, venue, rules_key(settings), now)
        )
        row = await conn.fetchrow(
            _RECOMPUTE,
            venue,
            now,
            timedelta(minutes=settings.hot_interest_minutes),
            settings.high_volume_24h_usd,
            timedelta(hours=settings.closing_soon_hours),
            timedelta(days=settings.recently_closed_days),
            None if everything else PRIORITY_BATCH,
            everything,
        )
    assert row is not None
    return Recomputed(int(row["changed"]), int(row["written"]), everything)


async def recompute_priorities(
    conn: asyncpg.Connection | asyncpg.Pool, venue: str, settings: Settings, now: datetime
) -> int:
    """Re-derive the due priorities of `venue`'s markets; returns how many changed."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as held:
            done = await apply_priority_rules(held, venue, settings, now)
    else:
        done = await apply_priority_rules(conn, venue, settings, now)
    return done.changed
