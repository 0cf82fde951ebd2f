"""The arbitrage cycle: re-price the covering sets the changed markets belong to.

Run inside the gold refresh with the markets it took from the change log
(quotes, books and book syncs, status changes all land there). It gathers
the matches (confirmed, or proposed above a confidence) and mutually
exclusive events those markets belong to, plus the open opportunities that
touch them or are about to go stale, reads just those markets' latest books,
prices every covering set (`predhub.gold.opportunities`) and then opens,
updates in place or closes rows of `gold.arbitrage_opportunities`. Opening
and closing are announced on the `predhub_arbitrage` channel. The work grows
with the changed markets and the open opportunities, not with the catalogue.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from predhub.db.queries import load
from predhub.gold.opportunities import PAIR_SIDES, Leg, Sized, best_size
from predhub.venues.descriptor import descriptor

Q = load("arbitrage")

OPEN = "open"
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ArbitrageConfig:
    """Which pairs count, how fresh legs must be, how long history stays."""

    freshness_seconds: float = 60.0
    min_confidence: float = 0.9
    retention_days: float = 30.0
    fee_multipliers: Mapping[str, float] = field(default_factory=dict)
    prune_batch: int = 10_000


@dataclass(slots=True)
class ArbitrageReport:
    candidates: int = 0
    opened: int = 0
    updated: int = 0
    closed: int = 0
    seconds: float = 0.0
    opened_ids: list[int] = field(default_factory=list)
    closed_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome_id: int
    idx: int
    label: str
    asks: tuple[tuple[float, float], ...] | None
    as_of: datetime | None


@dataclass(frozen=True, slots=True)
class MarketInput:
    """What the cycle knows of one market: status, fees, outcomes and their books."""

    market_id: int
    venue: str
    status: str
    end_at: datetime | None
    resolution_source: str | None
    extra: Mapping[str, Any]
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A covering set to price: its key, legs' (market, side, outcome) and payout per contract."""

    key: str
    kind: str
    relation: str
    match_id: int | None
    event_id: int | None
    legs: tuple[tuple[int, str, int | None], ...]  # (market id, "yes"/"no", outcome id)
    payout: float
    risks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Priced:
    candidate: Candidate
    legs: tuple[Leg, ...]
    result: Sized


# --- pure: from rows to candidates and prices ----------------------------------------


def _levels(raw: Any) -> tuple[tuple[float, float], ...]:
    if isinstance(raw, str):
        raw = orjson.loads(raw)
    out: list[tuple[float, float]] = []
    for level in raw or ():
        try:
            price, size = float(level[0]), float(level[1])
        except (TypeError, ValueError, IndexError):
            continue
        if 0 < price < 1 and size > 0:
            out.append((price, size))
    out.sort()
    return tuple(out)


def markets_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[int, MarketInput]:
    """Group `leg_inputs` rows (one per outcome) into markets."""
    grouped: dict[int, list[Mapping[str, Any]]] = {}
    for r in rows:
        grouped.setdefault(int(r["id"]), []).append(r)
    out: dict[int, MarketInput] = {}
    for market_id, rs in grouped.items():
        first = rs[0]
        extra = first["extra"]
        if isinstance(extra, str):
            extra = orjson.loads(extra)
        extra = dict(extra or {})
        if first["event_series"] and "series_ticker" not in extra:
            extra["series_ticker"] = first["event_series"]
        synced = first["books_synced_at"]
        outcomes = []
        for r in rs:
            observed = r["observed_at"]
            as_of = observed if synced is None or observed is None else max(observed, synced)
            outcomes.append(
                Outcome(
                    int(r["outcome_id"]),
                    int(r["idx"]),
                    str(r["label"]),
                    None if r["asks"] is None else _levels(r["asks"]),
                    as_of,
                )
            )
        out[market_id] = MarketInput(
            market_id,
            str(first["venue"]),
            str(first["status"]),
            first["end_at"],
            first["resolution_source"],
            extra,
            tuple(outcomes),
        )
    return out


def _notes(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = orjson.loads(raw)
    out: list[str] = []
    for note in raw or ():
        if isinstance(note, str):
            out.append(note)
        elif isinstance(note, Mapping):
            text = note.get("note") or note.get("text") or note.get("kind")
            out.append(str(text) if text else orjson.dumps(note).decode())
    return out


def pair_candidates(match: Mapping[str, Any]) -> list[Candidate]:
    """The covering sets of one match, by its relation (see `PAIR_SIDES`)."""
    relation = str(match["relation"])
    risks = tuple(_notes(match["notes"]))
    out = []
    for side_a, side_b in PAIR_SIDES.get(relation, ()):
        out.append(
            Candidate(
                key=f"match:{match['id']}:{side_a}-{side_b}",
                kind="cross_venue",
                relation=relation,
                match_id=int(match["id"]),
                event_id=None,
                legs=(
                    (int(match["market_a"]), side_a, _opt_int(match["outcome_a"])),
                    (int(match["market_b"]), side_b, _opt_int(match["outcome_b"])),
                ),
                payout=1.0,
                risks=risks,
            )
        )
    return out


def set_candidates(event_id: int, market_ids: Sequence[int]) -> list[Candidate]:
    """YES on every market of a mutually exclusive set pays 1; NO on all n pays n − 1."""
    risk = (
        "assumes exactly one market of the event resolves YES: an outcome the venue has not"
        " listed, or a void, pays nothing"
    )
    n = len(market_ids)
    return [
        Candidate(
            f"set:{event_id}:{side}",
            "neg_risk",
            f"all_{side}",
            None,
            event_id,
            tuple((m, side, None) for m in market_ids),
            1.0 if side == "yes" else float(n - 1),
            (risk,),
        )
        for side in ("yes", "no")
    ]


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _outcome(market: MarketInput, side: str, named: int | None) -> Outcome | None:
    """The outcome a leg buys: the named outcome (or the first) for YES, the other for NO."""
    if named is not None:
        yes = next((o for o in market.outcomes if o.outcome_id == named), None)
    else:
        yes = next((o for o in market.outcomes if o.idx == 0), None)
    if yes is None:
        return None
    if side == "yes":
        return yes
    if len(market.outcomes) != 2:
        return None  # the NO of one outcome among many is not one token
    return next(o for o in market.outcomes if o.outcome_id != yes.outcome_id)


def _time_risks(markets: Sequence[MarketInput]) -> list[str]:
    risks: list[str] = []
    ends = [m.end_at for m in markets if m.end_at is not None]
    if len(ends) == len(markets) and ends and max(ends) - min(ends) > DAY:
        risks.append(f"close times differ by {(max(ends) - min(ends)).days} days")
    sources = {(m.resolution_source or "").strip().lower() for m in markets}
    if len({s for s in sources if s}) > 1:
        risks.append("resolution sources differ")
    return risks


def price(
    candidate: Candidate,
    markets: Mapping[int, MarketInput],
    *,
    now: datetime,
    freshness: timedelta,
    multipliers: Mapping[str, float],
) -> tuple[Priced | None, str]:
    """The candidate priced, or None and why not ('market_not_open', 'stale', 'no_edge')."""
    legs: list[Leg] = []
    involved: list[MarketInput] = []
    for market_id, side, named in candidate.legs:
        market = markets.get(market_id)
        if market is None or market.status != OPEN:
            return None, "market_not_open"
        outcome = _outcome(market, side, named)
        if outcome is None or outcome.asks is None or outcome.as_of is None:
            return None, "no_book"
        if now - outcome.as_of > freshness:
            return None, "stale"
        involved.append(market)
        legs.append(
            Leg(
                market.venue,
                market.market_id,
                outcome.outcome_id,
                outcome.label,
                side,
                outcome.asks,
                descriptor(market.venue).fees_for(market.extra, multipliers),
                outcome.as_of,
            )
        )
    result = best_size(legs, candidate.payout)
    if result is None:
        return None, "no_edge"
    risks = tuple(dict.fromkeys([*candidate.risks, *_time_risks(involved)]))
    return Priced(
        Candidate(
            candidate.key,
            candidate.kind,
            candidate.relation,
            candidate.match_id,
            candidate.event_id,
            candidate.legs,
            candidate.payout,
            risks,
        ),
        tuple(legs),
        result,
    ), ""


def leg_documents(priced: Priced) -> list[dict[str, Any]]:
    """Each leg as stored and served: venue, market, outcome, side, prices, size, fee, as_of."""
    return [
        {
            "venue": leg.venue,
            "market_id": leg.market_id,
            "outcome_id": leg.outcome_id,
            "outcome": leg.outcome,
            "side": leg.side,
            "action": "buy",
            "price": round(filled.average_price, 6),
            "worst_price": filled.worst_price,
            "size": priced.result.size,
            "cost": round(filled.notional, 6),
            "fee": round(filled.fee, 6),
            "as_of": leg.as_of.isoformat(),
        }
        for leg, filled in zip(priced.legs, priced.result.legs, strict=True)
    ]


# --- I/O: the cycle -------------------------------------------------------------------


async def _candidates(
    conn: asyncpg.Connection,
    changed: Sequence[int],
    open_rows: Sequence[asyncpg.Record],
    config: ArbitrageConfig,
) -> list[Candidate]:
    match_ids = sorted({int(r["match_id"]) for r in open_rows if r["match_id"] is not None})
    event_ids = sorted({int(r["event_id"]) for r in open_rows if r["event_id"] is not None})
    matches = {
        int(r["id"]): r
        for r in await conn.fetch(Q.pairs_for_markets, list(changed), config.min_confidence)
    }
    if match_ids:
        for r in await conn.fetch(Q.pairs_by_id, match_ids, config.min_confidence):
            matches[int(r["id"])] = r
    out: list[Candidate] = []
    for match in matches.values():
        out.extend(pair_candidates(match))
    for r in await conn.fetch(Q.sets_for_markets, list(changed), event_ids):
        out.extend(set_candidates(int(r["event_id"]), [int(i) for i in r["market_ids"]]))
    return out


async def cycle(
    conn: asyncpg.Connection,
    config: ArbitrageConfig,
    changed: Sequence[int],
    *,
    now: datetime,
) -> ArbitrageReport:
    """One arbitrage cycle over what changed (the caller's transaction holds it whole)."""
    started = time.perf_counter()
    report = ArbitrageReport()
    freshness = timedelta(seconds=config.freshness_seconds)
    open_rows = await conn.fetch(Q.open_to_recheck, list(changed), now - freshness)
    candidates = await _candidates(conn, changed, open_rows, config)
    report.candidates = len(candidates)
    market_ids = sorted({m for c in candidates for m, _, _ in c.legs})
    markets = markets_from_rows(await conn.fetch(Q.leg_inputs, market_ids)) if market_ids else {}
    found: list[Priced] = []
    why: dict[str, str] = {}
    for c in candidates:
        priced, reason = price(
            c, markets, now=now, freshness=freshness, multipliers=config.fee_multipliers
        )
        if priced is None:
            why[c.key] = reason
        else:
            found.append(priced)
    open_keys = {str(r["key"]) for r in open_rows}
    if found:
        rows = await conn.fetch(Q.upsert_open, *_columns(found), now)
        report.opened_ids = [int(r["id"]) for r in rows]
        report.opened = len(rows)
        report.updated = len(found) - len(rows)
    found_keys = {p.candidate.key for p in found}
    gone = sorted(open_keys - found_keys)
    if gone:
        reasons = [why.get(k, "pair_withdrawn") for k in gone]
        rows = await conn.fetch(Q.close_keys, gone, reasons, now)
        report.closed_ids = [int(r["id"]) for r in rows]
        report.closed = len(rows)
    if config.retention_days > 0:
        cutoff = now - timedelta(days=config.retention_days)
        await conn.execute(Q.prune_closed, cutoff, config.prune_batch)
    report.seconds = time.perf_counter() - started
    return report


def _dec(value: float) -> Decimal:
    """Eight decimals, stored exactly (a float's binary tail would break keyset cursors)."""
    return Decimal(f"{value:.8f}")


def _columns(found: Sequence[Priced]) -> list[list[Any]]:
    cols: list[list[Any]] = [[] for _ in range(16)]
    for p in found:
        c, r = p.candidate, p.result
        values = (
            c.key,
            c.kind,
            c.relation,
            c.match_id,
            c.event_id,
            "{" + ",".join(leg.venue for leg in p.legs) + "}",
            "{" + ",".join(str(leg.market_id) for leg in p.legs) + "}",
            _dec(r.edge),
            Decimal(r.size),
            _dec(r.profit),
            _dec(r.cost),
            _dec(r.fees),
            _dec(r.payout),
            orjson.dumps(leg_documents(p)).decode(),
            orjson.dumps(list(c.risks)).decode(),
            min(leg.as_of for leg in p.legs),
        )
        for col, value in zip(cols, values, strict=True):
            col.append(value)
    return cols
