"""One matcher run: read changed markets, find candidates in PostgreSQL, decide, store.

A full run reads every open market, rebuilds the token index and re-decides
every candidate pair. An incremental run takes the markets written since its
last read of the market change stream (`predhub.db.changes`), keeps those
whose matching inputs changed (a digest per market in `gold.match_inputs`: a
new price or volume alone re-indexes nothing), rebuilds only their tokens and
re-decides only the pairs they are part of, so its cost follows what changed.
Both write `gold.market_matches` with one upsert that leaves decided rows
(confirmed, rejected) untouched, then delete the proposals they did not make
again, only while those are still proposals.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from predhub.db import changes as change_stream
from predhub.db.queries import load
from predhub.match.relate import Relation, relate
from predhub.match.terms import MarketText, Terms, extract

Q = load("match")
_YES_NO = {"yes", "no"}


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """How wide the candidate search is and what is worth storing."""

    venues: tuple[str, ...]
    max_token_markets: int = 200  # a token carried by more markets does not block
    window_days: float = 800.0  # closes further apart than this are never candidates
    top_k: int = 6  # candidates kept per market
    min_score: float = 0.0
    min_confidence: float = 0.4  # proposals below this are not stored
    batch: int = 20_000  # changed markets taken per incremental run


@dataclass(slots=True)
class MatchReport:
    """What one run did."""

    full: bool = False
    markets: int = 0
    candidates: int = 0
    proposed: int = 0
    deleted: int = 0
    seconds: float = 0.0
    busy: bool = False  # another transaction held the matcher's change reader: nothing done
    relations: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Input:
    """One market as the matcher sees it."""

    id: int
    venue: str
    open: bool
    terms: Terms
    outcome: int | None  # the outcome whose payout the terms describe


def market_text(row: asyncpg.Record | dict[str, Any]) -> tuple[MarketText, int]:
    """The text the terms are read from and the index of the outcome it speaks of.

    A binary market's YES label comes from the venue's bracket or group label; a
    market whose outcomes are named (a game's two teams) speaks of its first outcome.
    """
    labels = [str(x) for x in row["outcome_labels"]]
    label = row["yes_label"]
    index = 0
    if not label and labels and labels[0].strip().lower() not in _YES_NO:
        label = labels[0]
    end = row["end_at"]
    return (
        MarketText(
            question=row["question"] or "",
            outcome=label,
            event_title=row["event_title"],
            rules=row["description"],
            end_date=end.date() if end is not None else None,
        ),
        index,
    )


def read_inputs(rows: Iterable[asyncpg.Record]) -> dict[int, Input]:
    out: dict[int, Input] = {}
    for row in rows:
        text, index = market_text(row)
        ids = list(row["outcome_ids"])
        out[int(row["id"])] = Input(
            id=int(row["id"]),
            venue=str(row["venue"]),
            open=row["status"] == "open",
            terms=extract(text),
            outcome=int(ids[index]) if len(ids) > index else None,
        )
    return out


def blocking_tokens(t: Terms) -> set[str]:
    """The tokens a market is indexed under: its words, team keys, numbers and name pairs."""
    tokens = set(t.blocking)
    ents = sorted(t.entities)[:8]
    tokens.update(f"{x}+{y}" for x, y in itertools.combinations(ents, 2))
    return tokens


def _token_rows(
    inputs: Iterable[Input], ends: dict[int, datetime | None]
) -> list[tuple[str, int, str, datetime | None]]:
    rows: list[tuple[str, int, str, datetime | None]] = []
    for i in inputs:
        if not i.open:
            continue
        rows.extend((tok, i.id, i.venue, ends.get(i.id)) for tok in blocking_tokens(i.terms))
    return rows


async def _fetch_inputs(
    conn: asyncpg.Connection, ids: Sequence[int]
) -> tuple[dict[int, Input], dict[int, datetime | None]]:
    inputs: dict[int, Input] = {}
    ends: dict[int, datetime | None] = {}
    for start in range(0, len(ids), 20_000):
        rows = await conn.fetch(Q.inputs, list(ids[start : start + 20_000]))
        inputs.update(read_inputs(rows))
        ends.update({int(r["id"]): r["end_at"] for r in rows})
    return inputs, ends


def decide(a: Input, b: Input) -> Relation | None:
    """The relation of the pair read from the lower id to the higher (as stored)."""
    if a.id > b.id:
        a, b = b, a
    return relate(a.terms, b.terms)


def _features(r: Relation, score: float) -> dict[str, Any]:
    return {**r.features, "blocking_score": round(score, 3)}


async def run(
    conn: asyncpg.Connection, config: MatchConfig, *, now: datetime, full: bool = False
) -> MatchReport:
    """One run in one transaction (see the module docstring)."""
    started = time.perf_counter()
    report = MatchReport(full=full)
    async with conn.transaction():
        await conn.execute(Q.lock_match)
        written: list[int] = []
        if not full:
            taken = await change_stream.take(conn, "match", config.batch)
            if taken is change_stream.BUSY:
                # another transaction reads as the matcher: nothing taken, nothing to do
                report.busy = True
                report.seconds = time.perf_counter() - started
                return report
            if taken is change_stream.START_OVER:  # the stream starts over: a full run
                full = report.full = True
            else:
                written = taken
        if full:
            await change_stream.catch_up(conn, "match")
            ids = [int(r["id"]) for r in await conn.fetch(Q.open_ids, list(config.venues))]
            await conn.execute(Q.truncate_tokens)
            await conn.execute(Q.reset_inputs)
        else:
            ids = sorted(int(r["market_id"]) for r in await conn.fetch(Q.changed_inputs, written))
            if ids:
                await conn.execute(Q.delete_tokens, ids)
        inputs, ends = await _fetch_inputs(conn, ids)
        inputs = {k: v for k, v in inputs.items() if v.venue in config.venues}
        rows = _token_rows(inputs.values(), ends)
        if rows:
            await conn.copy_records_to_table(
                "match_tokens",
                schema_name="gold",
                records=rows,
                columns=["token", "market_id", "venue", "end_at"],
            )
        if full:
            await conn.execute(Q.analyze_tokens)
        report.markets = len(ids)
        indexed = max(1, int(await conn.fetchval(Q.indexed_markets)))
        window = config.window_days * 86_400.0
        if full:
            pairs = await conn.fetch(
                Q.candidates_all,
                config.max_token_markets,
                window,
                config.top_k,
                config.min_score,
                float(indexed),
            )
        elif ids:
            pairs = await conn.fetch(
                Q.candidates_for,
                ids,
                config.max_token_markets,
                window,
                config.top_k,
                config.min_score,
                float(indexed),
            )
        else:
            pairs = []
        report.candidates = len(pairs)
        others = sorted({int(x) for p in pairs for x in (p["a"], p["b"])} - inputs.keys())
        if others:
            more, _ = await _fetch_inputs(conn, others)
            inputs.update(more)
        cols: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [])
        for p in pairs:
            a, b = inputs.get(int(p["a"])), inputs.get(int(p["b"]))
            if a is None or b is None or not (a.open and b.open):
                continue
            r = decide(a, b)
            if r is None or r.confidence < config.min_confidence:
                continue
            for col, value in zip(
                cols,
                (
                    a.id,
                    b.id,
                    a.outcome,
                    b.outcome,
                    r.relation,
                    r.confidence,
                    _features(r, float(p["score"])),
                    list(r.notes),
                ),
                strict=True,
            ):
                col.append(value)
            report.relations[r.relation] = report.relations.get(r.relation, 0) + 1
        if cols[0]:
            await conn.execute(Q.upsert_matches, *cols[:6], cols[6], cols[7], now)
        report.proposed = len(cols[0])
        if full:
            status = await conn.execute(Q.delete_stale_all, now)
        elif ids:
            status = await conn.execute(Q.delete_stale_for, ids, now)
        else:
            status = "DELETE 0"
        report.deleted = int(status.split()[-1])
    report.seconds = time.perf_counter() - started
    return report
