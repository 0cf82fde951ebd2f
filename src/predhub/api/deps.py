"""Dependency aliases, so routes read as what they need rather than how it is built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from predhub.api.state import ApiState
from predhub.service.service import MarketDataService


# Coroutines, not plain functions: FastAPI runs a plain-function dependency in its thread
# pool, and two thread hand-offs per request cost more than the route's own work on a
# busy machine.
async def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


async def get_service(request: Request) -> MarketDataService:
    return (await get_state(request)).service


StateDep = Annotated[ApiState, Depends(get_state)]
ServiceDep = Annotated[MarketDataService, Depends(get_service)]

MarketIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=256,
        description="Any market id: ours, venue:native_id, condition id, token id, ticker, slug",
    ),
]
TierQuery = Annotated[
    str | None,
    Query(
        max_length=32,
        description="Freshness tier: T1, T2a, T2b, T3, T4 (or execution, feed, portfolio, "
        "dashboard, background); default T3",
    ),
]
MaxAgeQuery = Annotated[
    float | None,
    Query(ge=0, le=1e9, description="Maximum age in seconds; overrides the tier's"),
]
