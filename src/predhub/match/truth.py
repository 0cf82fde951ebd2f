"""Scoring the matcher against a list of pairs whose relation is known: pure, no I/O.

The truth is a list of market pairs with the relation of the first to the
second (`same`, `inverse`, `subset`, `superset`, `different`), whether the
pair was planted on purpose (a cross-listing, a nested strike or a look-alike
trap) and, for a trap, what differs. Every pair the matcher proposes is judged:
a pair missing from the truth is a different contract, so precision counts
every wrong proposal, not only those touching a planted market.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_FLIP = {"subset": "superset", "superset": "subset"}
LABELS = ("same", "inverse")


@dataclass(frozen=True, slots=True)
class Known:
    """One pair of the truth, read from the lower market id to the higher."""

    relation: str
    planted: bool
    trap: str | None = None


def orient(a: int, b: int, relation: str) -> tuple[tuple[int, int], str]:
    """The pair as the matcher stores it (lower id first) and the relation read that way."""
    if a < b:
        return (a, b), relation
    return (b, a), _FLIP.get(relation, relation)


@dataclass(slots=True)
class TruthScore:
    """Precision, recall and traps per relation (see the module docstring)."""

    proposed: dict[str, int] = field(default_factory=dict)
    correct: dict[str, int] = field(default_factory=dict)
    planted: dict[str, int] = field(default_factory=dict)
    planted_found: dict[str, int] = field(default_factory=dict)
    generated: dict[str, int] = field(default_factory=dict)
    generated_found: dict[str, int] = field(default_factory=dict)
    traps: int = 0
    traps_proposed: list[tuple[tuple[int, int], str, str]] = field(default_factory=list)
    mistakes: list[tuple[tuple[int, int], str, str]] = field(default_factory=list)
    missed: list[tuple[tuple[int, int], str]] = field(default_factory=list)

    def precision(self, label: str) -> float:
        n = self.proposed.get(label, 0)
        return self.correct.get(label, 0) / n if n else 0.0

    def recall(self, label: str) -> float:
        """Of the planted pairs with this relation, the share proposed with it."""
        n = self.planted.get(label, 0)
        return self.planted_found.get(label, 0) / n if n else 0.0

    def generated_recall(self, label: str) -> float:
        """Of the generated look-alikes that are truly one proposition, the share found."""
        n = self.generated.get(label, 0)
        return self.generated_found.get(label, 0) / n if n else 0.0


def score_truth(
    found: Mapping[tuple[int, int], str], truth: Iterable[tuple[int, int, Known]]
) -> TruthScore:
    """Judge `found` ({(lower id, higher id): relation} at or above the review threshold)."""
    known: dict[tuple[int, int], Known] = {}
    for a, b, k in truth:
        key, relation = orient(a, b, k.relation)
        known[key] = Known(relation, k.planted, k.trap)
    s = TruthScore()
    for key, k in known.items():
        if k.trap is not None:
            s.traps += 1
            got = found.get(key)
            if got in LABELS:
                s.traps_proposed.append((key, got, k.trap))
        if k.relation != "different":
            rel = "subset" if k.relation == "superset" else k.relation
            hit = found.get(key) == k.relation
            total, hits = (
                (s.planted, s.planted_found) if k.planted else (s.generated, s.generated_found)
            )
            total[rel] = total.get(rel, 0) + 1
            hits[rel] = hits.get(rel, 0) + hit
            if k.planted and not hit:
                s.missed.append((key, k.relation))
    for key, relation in found.items():
        rel = "subset" if relation == "superset" else relation
        s.proposed[rel] = s.proposed.get(rel, 0) + 1
        truth_rel = known[key].relation if key in known else "different"
        if truth_rel == relation:
            s.correct[rel] = s.correct.get(rel, 0) + 1
        elif relation in LABELS:
            s.mistakes.append((key, relation, truth_rel))
    return s
