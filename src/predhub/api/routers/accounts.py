"""Admin routes for accounts, API keys, the audit log and database health (admin key needed).

`AccessMiddleware` checks the key and level before any of these runs; every
call here is audited with the account or key it touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field
from starlette.responses import Response

from predhub.api.deps import ServiceDep
from predhub.api.errors import ERROR_RESPONSES, ErrorBody
from predhub.api.keys import issue_key
from predhub.api.responses import json_response
from predhub.service import accounts

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    responses={
        **ERROR_RESPONSES,
        401: {"model": ErrorBody, "description": "Missing, unknown, revoked or expired key"},
        403: {"model": ErrorBody, "description": "Blocked account, or a level without admin"},
        409: {"model": ErrorBody, "description": "The name is taken"},
    },
)

LevelName = Literal["admin", "vip", "whitelist", "blocked"]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@:-]+$")]


class NewAccount(BaseModel):
    name: Name
    level: LevelName = "whitelist"


class LevelChange(BaseModel):
    level: LevelName


class NewKey(BaseModel):
    account: Name = Field(description="The account the key belongs to (created if new)")
    name: Name | None = Field(None, description="A name to recognise the key by")
    level: LevelName | None = Field(None, description="The level of a new account")
    expires_at: AwareDatetime | None = None


def _touch(request: Request, what: str) -> None:
    request.state.audit_object = what


@router.get("/accounts", summary="Accounts and their levels")
async def list_accounts(service: ServiceDep) -> Response:
    return json_response({"data": await service.accounts.list_accounts()})


@router.post("/accounts", status_code=201, summary="Create an account")
async def create_account(
    request: Request, service: ServiceDep, body: Annotated[NewAccount, Body()]
) -> Response:
    _touch(request, f"account:{body.name}")
    row = await service.accounts.create_account(body.name, body.level)
    return json_response(row, status=201)


@router.patch("/accounts/{name}", summary="Change an account's level (blocked refuses its keys)")
async def change_level(
    request: Request,
    service: ServiceDep,
    name: Annotated[str, Path(min_length=1, max_length=100)],
    body: Annotated[LevelChange, Body()],
) -> Response:
    _touch(request, f"account:{name}")
    return json_response(await service.accounts.set_level(name, body.level))


@router.get("/keys", summary="API keys (never the keys themselves)")
async def list_keys(
    service: ServiceDep,
    account: Annotated[str | None, Query(max_length=100)] = None,
    revoked: Annotated[bool, Query(description="Include revoked keys")] = False,
) -> Response:
    rows = await service.accounts.list_keys(account_name=account, include_revoked=revoked)
    return json_response({"data": rows})


@router.post("/keys", status_code=201, summary="Create a key; it is shown in this answer only")
async def create_key(
    request: Request, service: ServiceDep, body: Annotated[NewKey, Body()]
) -> Response:
    _touch(request, f"account:{body.account}")
    key, row = await issue_key(
        service.accounts,
        account=body.account,
        name=body.name,
        level=body.level,
        expires_at=body.expires_at,
    )
    _touch(request, f"key:{row['id']}")
    return json_response({**row, "key": key}, status=201)


@router.delete("/keys/{key}", summary="Revoke a key (by name or id)")
async def revoke_key(
    request: Request,
    service: ServiceDep,
    key: Annotated[str, Path(min_length=1, max_length=100)],
) -> Response:
    _touch(request, f"key:{key}")
    return json_response(await service.accounts.revoke_key(key))


@router.get("/audit", summary="The audit log of writes and admin actions, newest first")
async def audit(
    service: ServiceDep,
    account: Annotated[str | None, Query(max_length=100)] = None,
    route: Annotated[str | None, Query(max_length=200, description="Route prefix")] = None,
    object: Annotated[str | None, Query(max_length=200, description="e.g. analysis:<id>")] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    errors: Annotated[bool, Query(description="Only refused or failed requests")] = False,
    since: datetime | None = None,
    until: datetime | None = None,
    before: Annotated[int | None, Query(ge=1, description="Entries older than this id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    where = accounts.AuditFilter(
        account=account,
        route=route,
        object=object,
        status=status,
        errors_only=errors,
        since=since,
        until=until,
        before_id=before,
    )
    rows = await service.accounts.audit_page(where, limit)
    next_before = rows[-1]["id"] if len(rows) == limit else None
    return json_response({"data": rows, "next_before": next_before})


@router.get("/db", summary="Database health: sizes, bloat, slow statements, connections, backups")
async def database(
    service: ServiceDep,
    top: Annotated[int, Query(ge=1, le=200)] = 15,
    long_seconds: Annotated[float, Query(ge=0, le=86400 * 7)] = 300,
) -> Response:
    return json_response(await service.database_report(top=top, long_seconds=long_seconds))
