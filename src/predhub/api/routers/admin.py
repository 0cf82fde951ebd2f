"""Admin: force a refresh of a venue's markets (needs an admin API key).

The key is checked once, by `AccessMiddleware`, before the body is read (a
missing or wrong key is a 401 whatever the body holds).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field
from starlette.responses import Response

from predhub.api.deps import ServiceDep, StateDep
from predhub.api.errors import ERROR_RESPONSES, ErrorBody
from predhub.api.responses import json_response
from predhub.api.schemas import MarketKey, RefreshResult
from predhub.api.venue_param import VenueName
from predhub.service.errors import ServiceError
from predhub.service.ids import validate_id
from predhub.service.singleflight import failure_reason

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    responses={
        **ERROR_RESPONSES,
        401: {"model": ErrorBody, "description": "Missing or wrong admin key"},
    },
)


class RefreshRequest(BaseModel):
    venue: VenueName
    scope: Literal["quotes", "markets"] = "quotes"
    ids: list[MarketKey] | None = Field(
        None,
        max_length=1000,
        description="Markets to refresh; default: the venue's top N open markets",
    )


def _outcome(status: str, market_id: int | None = None, reason: str | None = None) -> Any:
    return {"status": status, "market_id": market_id, "reason": reason}


@router.post("/refresh", response_model=RefreshResult, summary="Refresh a venue's markets now")
async def refresh(
    state: StateDep,
    service: ServiceDep,
    request: Annotated[RefreshRequest, Body()],
) -> Response:
    wanted = str(request.venue)  # the plain name (the parameter is an Enum member)
    outcomes: dict[str, dict[str, Any]] = {}
    targets: dict[str, int] = {}  # the id as asked for (or ours) -> our market id
    if request.ids:
        valid: dict[str, str] = {}
        for original in dict.fromkeys(str(i) for i in request.ids):
            try:
                valid[original] = validate_id(original)
            except ServiceError as exc:
                outcomes[original] = _outcome("invalid", reason=exc.message)
        resolved = await service.resolve(valid.values())
        venues = await service.market_venues(list(set(resolved.values())))
        for original, key in valid.items():
            market_id = resolved.get(key)
            venue = venues.get(market_id) if market_id is not None else None
            if market_id is None or venue is None:
                outcomes[original] = _outcome("not_found", reason="no market has this id")
            elif venue != wanted:
                outcomes[original] = _outcome(
                    "wrong_venue", market_id, f"the market is on {venue}, not {wanted}"
                )
            else:
                targets[original] = market_id
    else:
        top = await service.top_open_market_ids(wanted, state.settings.venue_top_n()[wanted])
        targets = {str(market_id): market_id for market_id in top}
    ids = list(dict.fromkeys(targets.values()))
    errors: dict[str, str] = {}
    refresher = state.refresher
    if refresher is None or state.settings.database_only_mode:
        errors["*"] = "refreshes are turned off in this process"
    elif ids:
        try:
            if request.scope == "quotes":
                await refresher.refresh_quotes(wanted, ids)
            else:
                await refresher.refresh_markets(wanted, ids)
        except Exception as exc:  # every failure is reported; a bug is logged as one
            errors["*"] = failure_reason(exc, wanted)
    service.cache.invalidate(ids)
    failure = errors.get("*")
    for original, market_id in targets.items():
        outcomes[original] = (
            _outcome("failed", market_id, failure) if failure else _outcome("refreshed", market_id)
        )
    return json_response(
        {
            "venue": wanted,
            "scope": request.scope,
            "markets": len(ids),
            "refreshed": 0 if errors else len(ids),
            "errors": errors,
            "outcomes": outcomes,
        }
    )
