"""The research store: research, analyses and conclusions kept next to the market data.

Apps that analyse markets on request keep what they gathered (research, with
sources and an expiry), what they concluded from it (analyses with a
recommendation and confidence) and one conclusion per analysis here, tied to
our market ids on any venue. Expired research is never served (410 with when
it expired) and the worker deletes it; analyses past ANALYSIS_ARCHIVE_DAYS
move to an archive table, still readable (the worker's side is in
`predhub.scheduler.housekeeping`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import asyncpg

from predhub.db.queries import load, render
from predhub.service.catalog import Filters
from predhub.service.errors import (
    BadRequest,
    ConclusionExists,
    ResearchExpired,
    ResearchNotFound,
)
from predhub.service.payload import plain

_Q = load("research")

ResearchType = Literal["current", "historical"]
Recommendation = Literal["BUY_YES", "BUY_NO", "HOLD"]
Sentiment = Literal["bullish", "bearish", "neutral"]


def _doc(row: asyncpg.Record) -> dict[str, Any]:
    return {key: plain(value) for key, value in row.items()}


@dataclass(frozen=True, slots=True)
class NewResearch:
    research_type: str
    research_data: str
    sources: list[Any]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewAnalysis:
    query_text: str
    analysis_result: dict[str, Any]
    confidence_score: float | None
    recommendation: str | None
    processing_time_ms: int | None
    llm_tokens_used: int | None
    research_id: UUID | None


@dataclass(frozen=True, slots=True)
class NewConclusion:
    conclusion: str
    sentiment: str | None
    supporting_data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Window:
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


def _window(f: Filters, column: str, window: Window) -> None:
    if window.since is not None:
        f.add(f"{column} >= ?", window.since)
    if window.until is not None:
        f.add(f"{column} < ?", window.until)


def _score(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 2)))


class ResearchStore:
    """Reads and writes of the research store (needs a pool)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add_research(
        self, market_id: int, new: NewResearch, *, by: int | None
    ) -> dict[str, Any]:
        row = await self.pool.fetchrow(
            _Q.insert_research,
            market_id,
            new.research_type,
            new.research_data,
            new.sources,
            new.expires_at,
            by,
        )
        assert row is not None
        return _doc(row)

    async def research(
        self, market_id: int, *, kind: str | None, window: Window, now: datetime
    ) -> tuple[list[dict[str, Any]], int]:
        """A market's unexpired research and how many expired items are not shown."""
        f = Filters()
        f.add("r.market_id = ?", market_id)
        f.add("(r.expires_at IS NULL OR r.expires_at > ?)", now)
        if kind is not None:
            f.add("r.research_type = ?", kind)
        _window(f, "r.created_at", window)
        sql = render(_Q.research_page, where=f.where(), limit=f.next_param())
        rows = await self.pool.fetch(sql, *f.args, window.limit)
        expired = await self.pool.fetchval(_Q.expired_research_count, market_id, now)
        return [_doc(r) for r in rows], int(expired or 0)

    async def research_item(self, research_id: UUID, *, now: datetime) -> dict[str, Any]:
        row = await self.pool.fetchrow(_Q.research_by_id, research_id)
        if row is None:
            raise ResearchNotFound(f"no research has id {research_id}", id=str(research_id))
        expires = row["expires_at"]
        if expires is not None and expires <= now:
            raise ResearchExpired(
                f"research {research_id} expired at {expires.isoformat()}",
                id=str(research_id),
                expired_at=expires.isoformat(),
            )
        return _doc(row)

    async def add_analysis(
        self,
        market_id: int,
        new: NewAnalysis,
        conclusion: NewConclusion | None,
        *,
        by: int | None,
    ) -> dict[str, Any]:
        """Store an analysis (and its conclusion, when given) in one transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                _Q.insert_analysis,
                market_id,
                new.research_id,
                new.query_text,
                new.analysis_result,
                _score(new.confidence_score),
                new.recommendation,
                new.processing_time_ms,
                new.llm_tokens_used,
                by,
            )
            if row is None:
                raise BadRequest(
                    f"research {new.research_id} does not exist for market {market_id}",
                    research_id=str(new.research_id),
                    market_id=market_id,
                )
            doc = _doc(row)
            doc["conclusion"] = None
            if conclusion is not None:
                doc["conclusion"] = await self._conclude(conn, row["id"], conclusion, by=by)
        return doc

    async def analyses(
        self,
        market_id: int,
        *,
        recommendation: str | None,
        window: Window,
        archived: bool,
    ) -> list[dict[str, Any]]:
        f = Filters()
        f.add("a.market_id = ?", market_id)
        if recommendation is not None:
            f.add("a.recommendation = ?", recommendation)
        _window(f, "a.created_at", window)
        table = "app.analysis_archive" if archived else "app.analysis"
        sql = render(_Q.analysis_page, table=table, where=f.where(), limit=f.next_param())
        return [_doc(r) for r in await self.pool.fetch(sql, *f.args, window.limit)]

    async def analysis(self, analysis_id: UUID) -> dict[str, Any]:
        row = await self.pool.fetchrow(_Q.analysis_by_id, analysis_id)
        if row is None:
            raise ResearchNotFound(f"no analysis has id {analysis_id}", id=str(analysis_id))
        doc = _doc(row)
        conclusion = None
        if doc.pop("conclusion_id") is not None:
            conclusion = {
                "conclusion": doc["conclusion"],
                "sentiment": doc["sentiment"],
                "supporting_data": doc["supporting_data"],
                "created_at": doc["conclusion_created_at"],
            }
        for key in ("conclusion", "sentiment", "supporting_data", "conclusion_created_at"):
            doc.pop(key)
        doc["conclusion"] = conclusion
        return doc

    async def conclude(
        self, analysis_id: UUID, new: NewConclusion, *, by: int | None
    ) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            return await self._conclude(conn, analysis_id, new, by=by)

    async def _conclude(
        self, conn: asyncpg.Connection, analysis_id: UUID, new: NewConclusion, *, by: int | None
    ) -> dict[str, Any]:
        try:
            row = await conn.fetchrow(
                _Q.insert_conclusion,
                analysis_id,
                new.conclusion,
                new.sentiment,
                new.supporting_data,
                by,
            )
        except asyncpg.UniqueViolationError as exc:
            raise ConclusionExists(
                f"analysis {analysis_id} has a conclusion already", analysis_id=str(analysis_id)
            ) from exc
        if row is None:
            raise ResearchNotFound(f"no analysis has id {analysis_id}", id=str(analysis_id))
        return _doc(row)
