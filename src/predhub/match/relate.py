"""Deciding how two markets relate from their terms: pure, no I/O.

The rule is strict on purpose: a pair is `same` only when every term that
decides the payout agrees (subject, threshold and its direction, band, date
window, Fed move, side), because a wrong `same` costs money while a missed one
only costs an opportunity. Terms that differ in a way that still implies one
from the other give `subset`/`superset` (above $110k implies above $100k;
"by March 31" implies "by Dec 31"); complementary terms give `inverse`
("above 3.9%" against "at or below 3.9%", or the other side of a game that
cannot be drawn). Anything else that looks alike is `related` with the
differences in its notes, or no match at all. Each relation carries notes a
person should check before trusting it: close times, resolution sources and
wording that differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from predhub.match.terms import Terms, Threshold

SAME, INVERSE, SUBSET, SUPERSET, RELATED = "same", "inverse", "subset", "superset", "related"
_FLIP = {SAME: INVERSE, INVERSE: SAME, SUBSET: SUBSET, SUPERSET: SUPERSET, RELATED: RELATED}
_COMPLEMENT = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
_UP = (">", ">=")
# differences that decide a payout even when the rest of the wording agrees
_DECISIVE = frozenset(
    [
        "second",
        "third",
        "fourth",
        "runner-up",
        "core",
        "headline",
        "monthly",
        "annual",
        "yoy",
        "spread",
        "total",
        "handicap",
        "popular",
        "vote",
        "electoral",
        "margin",
        "turnout",
        "nominee",
        "primary",
        "announce",
        "announces",
        "announcement",
        "resign",
        "impeach",
        "impeached",
        "convicted",
        "indicted",
        "extension",
        "extended",
        "reunion",
        "another",
        "other",
    ]
)
_SIDE_CLOSE_DAYS = 7


@dataclass(frozen=True, slots=True)
class Relation:
    """How market a relates to market b, how sure the matcher is, and what to check."""

    relation: str
    confidence: float
    notes: tuple[str, ...] = ()
    features: dict[str, Any] = field(default_factory=dict)


def _found(word: str, other: Terms) -> bool:
    if word in other.context or word in other.entities:
        return True
    if len(word) < 6:  # a short name one letter off is another name (Lena, Elena)
        return False
    return process.extractOne(word, other.context, scorer=fuzz.ratio, score_cutoff=85) is not None


def _missing(a: Terms, b: Terms) -> list[str]:
    return sorted(w for w in a.entities if not _found(w, b))


def _implies(ta: Threshold, tb: Threshold) -> bool:
    """Does `x ta` imply `x tb` (same direction, a at least as strict)?"""
    if (ta.op in _UP) != (tb.op in _UP):
        return False
    if ta.op in _UP:
        return ta.value > tb.value or (ta.value == tb.value and (ta.op == ">" or tb.op == ">="))
    return ta.value < tb.value or (ta.value == tb.value and (ta.op == "<" or tb.op == "<="))


def _counted(t: Threshold) -> Threshold:
    """A count has no value between n and n+1: '> 24' is '>= 25', '< 3' is '<= 2'."""
    if t.unit or t.value != int(t.value) or t.op in (">=", "<="):
        return t
    return (
        Threshold(">=", t.value + 1, t.unit)
        if t.op == ">"
        else Threshold("<=", t.value - 1, t.unit)
    )


def _close(x: float, y: float) -> bool:
    if x == y:
        return True
    if abs(x) == float("inf") or abs(y) == float("inf"):
        return False
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def _numbers(a: Terms, b: Terms, conflicts: list[str], notes: list[str]) -> str:
    """The relation the numeric terms allow (same when neither side has any)."""
    if a.fed_move or b.fed_move:
        if not (a.fed_move and b.fed_move):
            conflicts.append("a Fed decision against a market of another kind")
            return RELATED
        (alo, ahi), (blo, bhi) = a.fed_move, b.fed_move
        if _close(alo, blo) and _close(ahi, bhi):
            return SAME
        if blo <= alo and ahi <= bhi:
            return SUBSET
        if alo <= blo and bhi <= ahi:
            return SUPERSET
        conflicts.append(f"different Fed move: {a.fed_move} vs {b.fed_move} bps")
        return RELATED
    if a.band or b.band:
        if not (a.band and b.band):
            conflicts.append("a band against a threshold")
            return RELATED
        (alo, ahi, au), (blo, bhi, bu) = a.band, b.band
        if au and bu and au != bu:
            conflicts.append(f"different units: {au} vs {bu}")
            return RELATED
        if _close(alo, blo) and _close(ahi, bhi):
            return SAME
        if blo <= alo and ahi <= bhi:
            return SUBSET
        if alo <= blo and bhi <= ahi:
            return SUPERSET
        conflicts.append(f"different band: {alo:g}-{ahi:g} vs {blo:g}-{bhi:g}")
        return RELATED
    if not (a.thresholds or b.thresholds):
        return SAME
    if not (a.thresholds and b.thresholds):
        conflicts.append("a threshold on one side only")
        return RELATED
    ta, tb = a.thresholds[0], b.thresholds[0]
    if not _close(ta.value, tb.value):
        ca, cb = _counted(ta), _counted(tb)
        if _close(ca.value, cb.value):
            ta, tb = ca, cb
    if ta.unit and tb.unit and ta.unit != tb.unit:
        conflicts.append(f"different units: {ta.unit} vs {tb.unit}")
        return RELATED
    if _close(ta.value, tb.value):
        if ta.op == tb.op:
            return SAME
        if _COMPLEMENT[ta.op] == tb.op:
            return INVERSE
        if (ta.op in _UP) != (tb.op in _UP):
            notes.append(f"at exactly {ta.value:g} neither {ta.op} nor {tb.op} pays")
            return INVERSE
    if _implies(ta, tb):
        return SUBSET
    if _implies(tb, ta):
        return SUPERSET
    conflicts.append(f"different threshold: {ta.op} {ta.value:g} vs {tb.op} {tb.value:g}")
    return RELATED


def _combine(rel: str, other: str) -> str | None:
    """Two partial relations (numbers, dates) into one; None when they contradict."""
    if rel == SAME:
        return other
    if other in (SAME, rel):
        return rel
    return None


def _windows(a: Terms, b: Terms, conflicts: list[str], notes: list[str]) -> str:
    wa, wb = a.window, b.window
    if wa and wb:
        if wa.kind != wb.kind:
            conflicts.append(f"'{wa.kind}' a date against '{wb.kind}' a date")
            return RELATED
        if wa.label != wb.label:
            conflicts.append(f"different window: {wa.label or wa.end} vs {wb.label or wb.end}")
            return RELATED
        if wa.end == wb.end:
            return SAME
        if wa.kind == "by" and wa.end and wb.end:
            return SUBSET if wa.end < wb.end else SUPERSET
        conflicts.append(f"different day: {wa.end} vs {wb.end}")
        return RELATED
    if wa or wb:
        w, other = (wa, b) if wa else (wb, a)
        assert w is not None
        if w.label:
            conflicts.append(f"a window ({w.label}) on one side only")
            return RELATED
        if other.contest or other.end_date is None or w.end is None:
            return SAME
        gap = abs((w.end - other.end_date).days)
        if gap > _SIDE_CLOSE_DAYS:
            conflicts.append(f"deadline {w.end} against a market closing {other.end_date}")
            return RELATED
        return SAME
    if a.contest or b.contest or a.end_date is None or b.end_date is None:
        return SAME
    gap = abs((a.end_date - b.end_date).days)
    if gap > _SIDE_CLOSE_DAYS:
        conflicts.append(
            f"no date in either question and closes differ: {a.end_date} vs {b.end_date}"
        )
        return RELATED
    return SAME


def _game(a: Terms, b: Terms, sim: float) -> Relation | None:
    ga, gb = a.game, b.game
    if ga is None or gb is None:
        return None
    feats: dict[str, Any] = {"similarity": round(sim, 3), "kind": "game"}
    if not (ga.sides <= gb.sides or gb.sides <= ga.sides):
        return None
    notes: list[str] = []
    if ga.kind != gb.kind:
        notes.append(
            f"different market on the game: {ga.kind or 'winner'} vs {gb.kind or 'winner'}"
        )
    if ga.day and gb.day and ga.day != gb.day:
        notes.append(f"different game day: {ga.day} vs {gb.day}")
    if ga.yes is None or gb.yes is None:
        notes.append("the side that pays YES is not named")
    if notes:
        return Relation(RELATED, round(0.3 * sim, 3), tuple(notes), feats)
    if ga.yes == gb.yes:
        return Relation(SAME, 0.9, (), feats)
    if ga.two_sided and gb.two_sided and (ga.no_draw or gb.no_draw):
        return Relation(INVERSE, 0.85, ("the other side of a game that cannot be drawn",), feats)
    notes.append("opposite sides of a game that may be drawn: both can lose")
    return Relation(RELATED, round(0.4 * sim, 3), tuple(notes), feats)


def _agreeing(a: Terms, b: Terms) -> int:
    """How many payout-deciding terms both sides state and agree on."""
    n = 0
    n += a.fed_move is not None and a.fed_move == b.fed_move
    n += a.band is not None and a.band == b.band
    n += bool(a.thresholds) and a.thresholds[:1] == b.thresholds[:1]
    n += a.window is not None and a.window == b.window
    n += a.period is not None and a.period == b.period
    n += bool(a.years) and a.years == b.years
    return n


def relate(a: Terms, b: Terms) -> Relation | None:
    """How a relates to b (see the module docstring); None when they are unrelated."""
    sim = fuzz.token_set_ratio(a.text, b.text) / 100.0
    if a.game or b.game:
        return _game(a, b, sim)
    conflicts: list[str] = []
    notes: list[str] = []
    miss_a, miss_b = _missing(a, b), _missing(b, a)
    n_ent = len(a.entities) + len(b.entities)
    cover = 1.0 - (len(miss_a) + len(miss_b)) / n_ent if n_ent else sim
    if miss_a and miss_b:
        conflicts.append(f"different subjects: {', '.join(miss_a)} vs {', '.join(miss_b)}")
    elif miss_a or miss_b:
        notes.append(f"named on one side only: {', '.join(miss_a or miss_b)}")
    if a.offices and b.offices and not (a.offices & b.offices):
        conflicts.append(f"different office: {sorted(a.offices)} vs {sorted(b.offices)}")
    decisive = {q[:6] for q in a.qualifiers & _DECISIVE} ^ {q[:6] for q in b.qualifiers & _DECISIVE}
    if decisive:
        conflicts.append(f"worded differently where it decides: {', '.join(sorted(decisive))}")
    if a.contest != b.contest:
        conflicts.append("one asks who wins a contest, the other whether something happens")
    if a.years and b.years and not (a.years & b.years):
        conflicts.append(f"different year: {sorted(a.years)} vs {sorted(b.years)}")
    if a.period and b.period and a.period != b.period:
        conflicts.append(f"different month: {a.period} vs {b.period}")
    if a.sources and b.sources and not (a.sources & b.sources):
        conflicts.append(f"different resolution source: {sorted(a.sources)} vs {sorted(b.sources)}")
    elif a.sources != b.sources:
        notes.append("resolution source named on one side only; read both rules")
    rel = _numbers(a, b, conflicts, notes)
    has_numbers = bool(a.thresholds or a.band or a.fed_move)
    if a.negated != b.negated and not has_numbers:
        rel = _FLIP[rel]
    combined = _combine(rel, _windows(a, b, conflicts, notes))
    if combined is None:
        conflicts.append("the dates and the numbers point different ways")
        combined = RELATED
    score = 0.5 * sim + 0.5 * cover
    if _agreeing(a, b) >= 2:
        score = max(score, 0.8)  # the terms that decide the payout agree, however it is worded
    feats: dict[str, Any] = {"similarity": round(sim, 3), "coverage": round(cover, 3)}
    if a.end_date and b.end_date and abs((a.end_date - b.end_date).days) > _SIDE_CLOSE_DAYS:
        notes.append(f"close dates differ: {a.end_date} vs {b.end_date}")
    if conflicts or combined == RELATED:
        if score < 0.6:
            return None
        return Relation(RELATED, round(min(0.45, 0.5 * score), 3), tuple(conflicts + notes), feats)
    if score < 0.55:
        return None
    if sim < 0.6:
        notes.append("wording differs; read both rules")
    confidence = 0.45 + 0.5 * score - 0.03 * len(notes)
    if combined in (SUBSET, SUPERSET):
        confidence -= 0.05
    return Relation(combined, round(max(0.0, min(1.0, confidence)), 3), tuple(notes), feats)
