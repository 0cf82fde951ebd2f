"""Liveness, readiness (database reachable, migrations current), the hub's status and
Prometheus metrics."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from predhub.api.deps import StateDep
from predhub.api.metrics import exposition
from predhub.api.responses import json_response
from predhub.api.schemas import Health, HubStatus
from predhub.service.catalog import DatabaseFailure

log = structlog.get_logger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Response:
    return json_response({"status": "ok", "details": {}})


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Not ready"}},
    summary="The database answers and its schema is current",
)
async def readyz(state: StateDep) -> Response:
    try:
        st = await state.service.schema_status()
    except DatabaseFailure as exc:  # its kind only: the message can name hosts and users
        log.warning("api.not_ready", error=repr(exc))
        return json_response(
            {"status": "unavailable", "details": {"database": type(exc).__name__}}, 503
        )
    details: dict[str, object] = {
        "schema_version": st.current,
        "latest_version": st.latest,
        "listener": state.listener.connected.is_set(),
    }
    if not st.up_to_date:
        details["pending"] = [f"{m.version:04d}_{m.name}" for m in st.pending]
        return json_response({"status": "migrations_pending", "details": details}, 503)
    return json_response({"status": "ready", "details": details})


@router.get(
    "/v1/status", response_model=HubStatus, summary="Budgets, jobs, errors, quarantine, size"
)
async def status(state: StateDep, request: Request) -> Response:
    """What `predhub status` shows, from the database alone: per venue, requests against
    the workers' budget, jobs queued, running and failed, the newest sync errors,
    quarantined items (count and newest) and freshness per priority (the gold row the
    worker keeps); the database's size; each gold refresh's and prune's last run.
    Error and quarantine texts only for an admin key, or for anyone on a hub without
    keys (`details_hidden` says when they are left out)."""
    key = getattr(request.state, "key", None)
    details = state.access is not None and await state.access.shows_details(key)
    return json_response(await state.service.hub_status(details=details))


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
