"""Confirmed pairs as a file: export from one hub, import into another.

Each line names both markets by venue and native id (ids that mean the same
on every hub), the outcome index each side speaks of, the relation and who
decided. An import reads and checks the whole file first and writes it in one
transaction, so a bad line (named by its number) leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from predhub.db.queries import load
from predhub.match.errors import PairsFileError
from predhub.match.relate import INVERSE, RELATED, SAME, SUBSET, SUPERSET

Q = load("match_review")
RELATIONS = (SAME, INVERSE, SUBSET, SUPERSET, RELATED)
_MIRROR = {SUBSET: SUPERSET, SUPERSET: SUBSET}


async def export_confirmed(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every confirmed pair, keyed by venue and native id."""
    out: list[dict[str, Any]] = []
    for r in await conn.fetch(Q.confirmed_pairs):
        out.append(
            {
                "a": {"venue": r["a_venue"], "market": r["a_native_id"], "outcome": r["a_outcome"]},
                "b": {"venue": r["b_venue"], "market": r["b_native_id"], "outcome": r["b_outcome"]},
                "relation": r["relation"],
                "confidence": round(float(r["confidence"]), 4),
                "notes": r["notes"],
                "decided_by": r["decided_by"],
                "decided_at": r["decided_at"].isoformat() if r["decided_at"] else None,
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class Entry:
    line: int
    a: tuple[str, str, int]
    b: tuple[str, str, int]
    relation: str
    confidence: float
    notes: list[str]
    decided_by: str
    decided_at: datetime


def _side(obj: Any, name: str) -> tuple[str, str, int]:
    if not isinstance(obj, dict):
        raise ValueError(f"{name} is not an object")
    venue, market, outcome = obj.get("venue"), obj.get("market"), obj.get("outcome", 0)
    if not isinstance(venue, str) or not venue or not isinstance(market, str) or not market:
        raise ValueError(f"{name} needs a venue and a market (native id)")
    if outcome is None:
        outcome = 0
    if not isinstance(outcome, int) or isinstance(outcome, bool) or outcome < 0:
        raise ValueError(f"{name}.outcome must be an outcome index")
    return venue, market, outcome


def parse_export(lines: Iterable[str]) -> list[Entry]:
    """The entries of an export file, or PairsFileError naming the first bad line."""
    out: list[Entry] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            relation = obj.get("relation")
            if relation not in RELATIONS:
                raise ValueError(f"relation {relation!r} is not one of {list(RELATIONS)}")
            confidence = obj.get("confidence", 1.0)
            if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
                raise ValueError("confidence must be a number from 0 to 1")
            notes = obj.get("notes") or []
            if not isinstance(notes, list) or not all(isinstance(x, str) for x in notes):
                raise ValueError("notes must be a list of strings")
            raw_at = obj.get("decided_at")
            decided_at = datetime.fromisoformat(raw_at) if raw_at else datetime.now(UTC)
            if decided_at.tzinfo is None:
                decided_at = decided_at.replace(tzinfo=UTC)
            out.append(
                Entry(
                    n,
                    _side(obj.get("a"), "a"),
                    _side(obj.get("b"), "b"),
                    str(relation),
                    float(confidence),
                    notes,
                    str(obj.get("decided_by") or "import"),
                    decided_at,
                )
            )
        except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
            raise PairsFileError(f"line {n}: {exc}") from exc
    return out


async def import_confirmed(conn: asyncpg.Connection, entries: list[Entry]) -> int:
    """Write every entry as a confirmed match in one transaction; returns how many."""
    async with conn.transaction():
        for e in entries:
            ids = []
            for venue, market, outcome in (e.a, e.b):
                row = await conn.fetchrow(Q.market_by_native, venue, market, outcome)
                if row is None:
                    raise PairsFileError(f"line {e.line}: no market {venue}:{market} in this hub")
                ids.append((int(row["id"]), row["outcome_id"]))
            (ma, oa), (mb, ob) = ids
            relation = e.relation
            if ma == mb:
                raise PairsFileError(f"line {e.line}: both sides name the same market")
            if ma > mb:
                (ma, oa), (mb, ob) = (mb, ob), (ma, oa)
                relation = _MIRROR.get(relation, relation)
            await conn.execute(
                Q.import_confirmed,
                ma,
                mb,
                oa,
                ob,
                relation,
                e.confidence,
                e.notes,
                e.decided_by,
                e.decided_at,
            )
    return len(entries)
