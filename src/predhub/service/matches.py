"""Reading and deciding cross-venue matches for the API.

The matcher proposes; a person confirms or rejects through these calls. A
decision is a row the matcher never writes again, so it survives every
recomputation. Deciding a match someone else decided is a conflict, not a
silent overwrite; the same person may change their own decision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from predhub.db.queries import load
from predhub.service.errors import MatchAlreadyDecided, MatchNotFound
from predhub.service.payload import plain

Q = load("match_review")
DECISIONS = {"confirm": "confirmed", "reject": "rejected"}


def _side(r: asyncpg.Record, p: str) -> dict[str, Any]:
    return {
        "market_id": int(r[f"{p}_id"]),
        "venue": r[f"{p}_venue"],
        "native_id": r[f"{p}_native_id"],
        "question": r[f"{p}_question"],
        "outcome": r[f"{p}_outcome"],
        "end_at": plain(r[f"{p}_end_at"]),
        "status": r[f"{p}_status"],
    }


def document(r: asyncpg.Record) -> dict[str, Any]:
    """One match as the API shows it: both markets, the relation and what to check."""
    return {
        "id": int(r["id"]),
        "relation": r["relation"],
        "confidence": round(float(r["confidence"]), 4),
        "confidence_raw": float(r["confidence"]),  # the exact keyset value of a cursor
        "status": r["status"],
        "a": _side(r, "a"),
        "b": _side(r, "b"),
        "notes": plain(r["notes"]),
        "features": plain(r["features"]),
        "decided_by": r["decided_by"],
        "decided_at": plain(r["decided_at"]),
        "computed_at": plain(r["computed_at"]),
    }


class MatchReader:
    """gold.market_matches through the service's pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def page(
        self,
        *,
        status: str | None,
        venue: str | None,
        min_confidence: float,
        limit: int,
        after: tuple[float, int] | None,
    ) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            Q.match_page,
            status,
            venue,
            min_confidence,
            limit,
            after[0] if after else None,
            after[1] if after else None,
        )
        return [document(r) for r in rows]

    async def for_market(self, market_id: int, limit: int = 200) -> list[dict[str, Any]]:
        return [document(r) for r in await self.pool.fetch(Q.market_matches, market_id, limit)]

    async def decide(
        self, match_id: int, decision: str, decided_by: str, note: str | None = None
    ) -> dict[str, Any]:
        """Confirm or reject; 404 for an unknown match, 409 if another person decided it."""
        status = DECISIONS[decision]
        async with self.pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(
                Q.decide_match, match_id, status, decided_by, datetime.now(UTC), note
            )
            if done is None:
                state = await conn.fetchrow(Q.match_state, match_id)
                if state is None:
                    raise MatchNotFound(f"no match has id {match_id}", id=match_id)
                raise MatchAlreadyDecided(
                    f"match {match_id} was already {state['status']} by {state['decided_by']}",
                    id=match_id,
                    status=state["status"],
                    decided_by=state["decided_by"],
                )
        rows = await self.pool.fetch(Q.market_matches_by_id, match_id)
        return document(rows[0])
