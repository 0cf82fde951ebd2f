"""The research store's routes: research, analyses and conclusions of a market.

Reads follow the read rules (open without a key unless API_REQUIRE_KEYS);
writes need a key whose level may write. Expired research answers 410 with
when it expired; archived analyses are read with `archived=true`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from starlette.responses import Response

from predhub.api.deps import MarketIdPath, ServiceDep
from predhub.api.errors import ERROR_RESPONSES, ErrorBody
from predhub.api.responses import json_response
from predhub.service.research import (
    NewAnalysis,
    NewConclusion,
    NewResearch,
    Recommendation,
    ResearchStore,
    ResearchType,
    Sentiment,
    Window,
)
from predhub.service.service import MarketDataService

router = APIRouter(
    tags=["research"],
    responses={
        **ERROR_RESPONSES,
        401: {"model": ErrorBody, "description": "Writes need an API key"},
        403: {"model": ErrorBody, "description": "Blocked account, or a level that may not write"},
        409: {"model": ErrorBody, "description": "The analysis has a conclusion already"},
        410: {"model": ErrorBody, "description": "The research has expired"},
    },
)

Limit = Annotated[int, Query(ge=1, le=500)]
MAX_TEXT = 200_000


class ResearchIn(BaseModel):
    research_type: ResearchType = "current"
    research_data: str = Field(min_length=1, max_length=MAX_TEXT)
    sources: list[dict[str, Any] | str] = Field(default_factory=list, max_length=500)
    expires_at: AwareDatetime | None = Field(None, description="When it stops being current")
    ttl_seconds: float | None = Field(
        None, gt=0, le=10 * 365 * 86400, description="Instead of expires_at: seconds from now"
    )

    @model_validator(mode="after")
    def _one_expiry(self) -> ResearchIn:
        if self.expires_at is not None and self.ttl_seconds is not None:
            raise ValueError("give expires_at or ttl_seconds, not both")
        return self


class ConclusionIn(BaseModel):
    conclusion: str = Field(min_length=1, max_length=MAX_TEXT)
    sentiment: Sentiment | None = None
    supporting_data: dict[str, Any] = Field(default_factory=dict)


class AnalysisIn(BaseModel):
    query_text: str = Field(min_length=1, max_length=MAX_TEXT)
    analysis_result: dict[str, Any] = Field(default_factory=dict)
    confidence_score: float | None = Field(None, ge=0, le=1)
    recommendation: Recommendation | None = None
    processing_time_ms: int | None = Field(None, ge=0, le=2_000_000_000)
    llm_tokens_used: int | None = Field(None, ge=0, le=2_000_000_000)
    research_id: UUID | None = None
    conclusion: ConclusionIn | None = Field(None, description="Stored with it, in one go")


def _store(service: MarketDataService) -> ResearchStore:
    return service.research


def _author(request: Request) -> int | None:
    info = getattr(request.state, "key", None)
    return getattr(info, "account_id", None)


def _conclusion(body: ConclusionIn) -> NewConclusion:
    return NewConclusion(body.conclusion, body.sentiment, body.supporting_data)


@router.post(
    "/v1/markets/{market_id}/research", status_code=201, summary="Store research for a market"
)
async def add_research(
    request: Request,
    service: ServiceDep,
    market_id: MarketIdPath,
    body: Annotated[ResearchIn, Body()],
) -> Response:
    request.state.audit_object = f"market:{market_id}"
    found = await service.resolve_one(market_id)
    expires = body.expires_at
    if body.ttl_seconds is not None:
        expires = datetime.now(UTC) + timedelta(seconds=body.ttl_seconds)
    new = NewResearch(body.research_type, body.research_data, list(body.sources), expires)
    row = await _store(service).add_research(found, new, by=_author(request))
    request.state.audit_object = f"research:{row['id']}"
    return json_response(row, status=201)


@router.get("/v1/markets/{market_id}/research", summary="A market's current research")
async def list_research(
    service: ServiceDep,
    market_id: MarketIdPath,
    type: Annotated[ResearchType | None, Query(description="current or historical")] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Limit = 100,
) -> Response:
    found = await service.resolve_one(market_id)
    rows, expired = await _store(service).research(
        found, kind=type, window=Window(since, until, limit), now=datetime.now(UTC)
    )
    return json_response({"market_id": found, "data": rows, "expired_not_shown": expired})


@router.get("/v1/research/{research_id}", summary="One research item (410 once expired)")
async def research_item(service: ServiceDep, research_id: UUID) -> Response:
    return json_response(await _store(service).research_item(research_id, now=datetime.now(UTC)))


@router.post(
    "/v1/markets/{market_id}/analyses", status_code=201, summary="Store an analysis of a market"
)
async def add_analysis(
    request: Request,
    service: ServiceDep,
    market_id: MarketIdPath,
    body: Annotated[AnalysisIn, Body()],
) -> Response:
    request.state.audit_object = f"market:{market_id}"
    found = await service.resolve_one(market_id)
    new = NewAnalysis(
        query_text=body.query_text,
        analysis_result=body.analysis_result,
        confidence_score=body.confidence_score,
        recommendation=body.recommendation,
        processing_time_ms=body.processing_time_ms,
        llm_tokens_used=body.llm_tokens_used,
        research_id=body.research_id,
    )
    conclusion = None if body.conclusion is None else _conclusion(body.conclusion)
    row = await _store(service).add_analysis(found, new, conclusion, by=_author(request))
    request.state.audit_object = f"analysis:{row['id']}"
    return json_response(row, status=201)


@router.get("/v1/markets/{market_id}/analyses", summary="A market's analyses, newest first")
async def list_analyses(
    service: ServiceDep,
    market_id: MarketIdPath,
    recommendation: Recommendation | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    archived: Annotated[bool, Query(description="Read the archive instead")] = False,
    limit: Limit = 100,
) -> Response:
    found = await service.resolve_one(market_id)
    rows = await _store(service).analyses(
        found,
        recommendation=recommendation,
        window=Window(since, until, limit),
        archived=archived,
    )
    return json_response({"market_id": found, "archived": archived, "data": rows})


@router.get(
    "/v1/analyses/{analysis_id}", summary="One analysis (live or archived) with its conclusion"
)
async def analysis(service: ServiceDep, analysis_id: UUID) -> Response:
    return json_response(await _store(service).analysis(analysis_id))


@router.post(
    "/v1/analyses/{analysis_id}/conclusion",
    status_code=201,
    summary="Store an analysis's conclusion (one per analysis)",
)
async def conclude(
    request: Request,
    service: ServiceDep,
    analysis_id: UUID,
    body: Annotated[ConclusionIn, Body()],
) -> Response:
    request.state.audit_object = f"analysis:{analysis_id}"
    row = await _store(service).conclude(analysis_id, _conclusion(body), by=_author(request))
    return json_response(row, status=201)
