"""Labelled pairs of real markets: load them into a database and score the matcher.

A pairs file has one JSON object a line: `{"id", "label": "same"|"inverse"|
"different", "a": {"venue", "title", "rules", "end_date", "outcome"}, "b": {...}}`.
Every market named in the file is written once as an open market of its
venue, the matcher runs over all of them together (so a market can be matched
to any other, not only to its labelled partner), and each labelled pair is
scored by what the matcher stored for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import asyncpg
import orjson

from predhub.db.queries import load
from predhub.match.errors import PairsFileError

Q = load("match_review")
LABELS = ("same", "inverse", "different")


@dataclass(frozen=True, slots=True)
class Side:
    venue: str
    title: str
    rules: str
    end_date: date | None
    outcome: str | None

    @property
    def native_id(self) -> str:
        key = "\x00".join((self.title, self.rules, str(self.end_date), self.outcome or ""))
        return "pair-" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class Pair:
    id: str
    label: str
    a: Side
    b: Side


def _side(obj: object, where: str, venues: Iterable[str]) -> Side:
    if not isinstance(obj, dict):
        raise ValueError(f"{where} is not an object")
    venue, title = obj.get("venue"), obj.get("title")
    if not isinstance(venue, str) or venue not in venues:
        raise ValueError(f"{where}.venue {venue!r} is not one of {sorted(venues)}")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"{where}.title is missing")
    end = obj.get("end_date")
    try:
        end_date = date.fromisoformat(str(end)[:10]) if end else None
    except ValueError as exc:
        raise ValueError(f"{where}.end_date {end!r} is not a date") from exc
    outcome = obj.get("outcome")
    return Side(venue, title, str(obj.get("rules") or ""), end_date, outcome or None)


def parse_pairs(lines: Iterable[str], venues: Iterable[str]) -> list[Pair]:
    """Every pair of the file, or PairsFileError naming the first bad line."""
    known = set(venues)
    out: list[Pair] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            label = obj.get("label")
            if label not in LABELS:
                raise ValueError(f"label {label!r} is not one of {list(LABELS)}")
            out.append(
                Pair(
                    str(obj.get("id") or n),
                    str(label),
                    _side(obj.get("a"), "a", known),
                    _side(obj.get("b"), "b", known),
                )
            )
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise PairsFileError(f"line {n}: {exc}") from exc
    return out


async def load_markets(conn: asyncpg.Connection, pairs: Iterable[Pair]) -> dict[Side, int]:
    """Write each distinct market of the pairs once (open, with its YES label as outcome)."""
    ids: dict[Side, int] = {}
    for p in pairs:
        for s in (p.a, p.b):
            if s in ids:
                continue
            end = datetime.combine(s.end_date, time(23, 59), UTC) if s.end_date else None
            labels = [s.outcome, f"Not {s.outcome}"] if s.outcome else ["Yes", "No"]
            market_id = int(
                await conn.fetchval(
                    Q.insert_pair_market, s.venue, s.native_id, s.title, s.rules or None, end
                )
            )
            for idx, label in enumerate(labels):
                await conn.execute(Q.insert_pair_outcome, market_id, idx, label)
            ids[s] = market_id
    return ids


@dataclass(slots=True)
class Score:
    """Precision and recall per relation over the labelled pairs."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    mistakes: list[str] = field(default_factory=list)

    def precision(self, label: str) -> float:
        c = self.counts.get(label, {})
        predicted = sum(c.values())
        return c.get(label, 0) / predicted if predicted else 0.0

    def recall(self, label: str) -> float:
        c = self.counts.get(label, {})
        return c.get(label, 0) / self.total[label] if self.total.get(label) else 0.0

    def false_match_rate(self) -> float:
        n = self.total.get("different", 0)
        wrong = sum(self.counts.get(k, {}).get("different", 0) for k in ("same", "inverse"))
        return wrong / n if n else 0.0


async def score(
    conn: asyncpg.Connection, pairs: Iterable[Pair], ids: dict[Side, int], review: float
) -> Score:
    """Score the stored matches: a pair counts as `same`/`inverse` when the matcher
    stored that relation for it at or above the review threshold."""
    rows = await conn.fetch(Q.all_matches)
    stored = {(int(r["market_a"]), int(r["market_b"])): r for r in rows}
    result = Score()
    for p in pairs:
        a, b = ids[p.a], ids[p.b]
        row = stored.get((min(a, b), max(a, b)))
        predicted = "different"
        if (
            row is not None
            and row["relation"] in ("same", "inverse")
            and (row["status"] == "confirmed" or float(row["confidence"]) >= review)
        ):
            predicted = str(row["relation"])
        result.total[p.label] = result.total.get(p.label, 0) + 1
        result.counts.setdefault(predicted, {})
        result.counts[predicted][p.label] = result.counts[predicted].get(p.label, 0) + 1
        if predicted != p.label:
            result.mistakes.append(f"{p.id}: labelled {p.label}, matched {predicted}")
    return result
