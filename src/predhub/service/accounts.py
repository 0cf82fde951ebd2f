"""Accounts, API keys, shared rate counters and the audit log, as stored in the database.

The API's access control (`predhub.api.access`) decides; this module only
reads and writes what it decides with. Keys are stored as their sha256; the
key itself exists only in the answer that created it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, TypeAlias, get_args

import asyncpg

from predhub.db.queries import load, render
from predhub.service.catalog import Filters
from predhub.service.errors import (
    AccountNameTaken,
    AccountNotFound,
    ApiKeyNotFound,
    BadRequest,
    KeyNameTaken,
)
from predhub.service.payload import plain

_Q = load("accounts")

Level = Literal["admin", "vip", "whitelist", "blocked"]
LEVELS: tuple[str, ...] = get_args(Level)
Kind = Literal["requests", "refreshes"]
Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What a presented key is, as stored: its account, level and validity."""

    id: int
    name: str
    account_id: int | None
    account: str
    level: str
    revoked_at: datetime | None
    expires_at: datetime | None


class RefreshGate(Protocol):
    """Asked before a request makes the hub call a venue; None lets it, else why not."""

    async def __call__(self, markets: int) -> str | None: ...


# Set by the API's access control for the request being served (None: no limit).
REFRESH_GATE: ContextVar[RefreshGate | None] = ContextVar("predhub_refresh_gate", default=None)


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise BadRequest(f"level must be one of {', '.join(LEVELS)}, not {level!r}", level=level)
    return level


def _doc(row: asyncpg.Record) -> dict[str, Any]:
    return {key: plain(value) for key, value in row.items()}


async def create_account(conn: Conn, name: str, level: str) -> dict[str, Any]:
    check_level(level)
    try:
        row = await conn.fetchrow(_Q.create_account, name, level)
    except asyncpg.UniqueViolationError as exc:
        raise AccountNameTaken(f"an account named {name!r} exists already", name=name) from exc
    assert row is not None
    return _doc(row)


async def account(conn: Conn, name: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(_Q.account_by_name, name)
    return None if row is None else _doc(row)


async def set_level(conn: Conn, name: str, level: str) -> dict[str, Any]:
    check_level(level)
    row = await conn.fetchrow(_Q.set_account_level, name, level)
    if row is None:
        raise AccountNotFound(f"no account is named {name!r}", name=name)
    return _doc(row)


async def list_accounts(conn: Conn) -> list[dict[str, Any]]:
    return [_doc(r) for r in await conn.fetch(_Q.list_accounts)]


async def create_key(
    conn: asyncpg.Connection,
    *,
    account_name: str,
    key_name: str,
    key_hash: str,
    level: str | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Store a key's hash for `account_name`, creating the account at `level` if new.

    One transaction: a taken key name leaves no new account behind.
    """
    async with conn.transaction():
        found = await account(conn, account_name)
        if found is None:
            found = await create_account(conn, account_name, level or "whitelist")
        elif level is not None and level != found["level"]:
            found = await set_level(conn, account_name, level)
        scopes = ["admin"] if found["level"] == "admin" else ["read"]
        try:
            row = await conn.fetchrow(
                _Q.create_account_key, key_name, key_hash, scopes, found["id"], expires_at
            )
        except asyncpg.UniqueViolationError as exc:
            raise KeyNameTaken(
                f"an API key named {key_name!r} exists already", name=key_name
            ) from exc
    assert row is not None
    return {**_doc(row), "account": found["name"], "level": found["level"]}


async def list_keys(
    conn: Conn, *, account_name: str | None = None, include_revoked: bool = False
) -> list[dict[str, Any]]:
    return [_doc(r) for r in await conn.fetch(_Q.list_keys, account_name, include_revoked)]


async def revoke_key(conn: Conn, name_or_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(_Q.revoke_key, name_or_id)
    if row is None:
        raise ApiKeyNotFound(f"no API key has the name or id {name_or_id!r}", key=name_or_id)
    return _doc(row)


async def key_by_hash(conn: Conn, key_hash: str) -> KeyInfo | None:
    row = await conn.fetchrow(_Q.key_by_hash, key_hash)
    if row is None:
        return None
    return KeyInfo(
        id=int(row["id"]),
        name=str(row["name"]),
        account_id=None if row["account_id"] is None else int(row["account_id"]),
        account=str(row["account"]),
        level=str(row["level"]),
        revoked_at=row["revoked_at"],
        expires_at=row["expires_at"],
    )


async def any_live_key(conn: Conn) -> bool:
    """Whether any key is neither revoked nor expired."""
    return bool(await conn.fetchval(_Q.any_live_key))


async def reserve(
    conn: Conn, key_id: int, kind: Kind, window: datetime, hits: int, limit: int
) -> int | None:
    """Take `hits` of the key's minute when they fit in `limit`: the new total, else None."""
    value = await conn.fetchval(_Q.reserve_hits, key_id, kind, window, hits, limit)
    return None if value is None else int(value)


async def window_hits(conn: Conn, key_id: int, kind: Kind, window: datetime) -> int:
    value = await conn.fetchval(_Q.window_hits, key_id, kind, window)
    return 0 if value is None else int(value)


async def touch_keys(conn: Conn, used: dict[int, datetime]) -> None:
    if used:
        await conn.execute(_Q.touch_keys, list(used), list(used.values()))


async def prune_rate_counts(conn: Conn, before: datetime) -> None:
    await conn.execute(_Q.prune_rate_counts, before)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    method: str
    route: str
    status: int
    key: KeyInfo | None = None
    object: str | None = None
    error: str | None = None


async def audit(conn: Conn, entry: AuditEntry) -> None:
    key = entry.key
    await conn.execute(
        _Q.audit,
        None if key is None else key.account_id,
        None if key is None else key.account,
        None if key is None else key.id,
        None if key is None else key.name,
        None if key is None else key.level,
        entry.method,
        entry.route[:500],
        None if entry.object is None else entry.object[:500],
        entry.status,
        None if entry.error is None else entry.error[:2000],
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    account: str | None = None
    route: str | None = None
    object: str | None = None
    status: int | None = None
    errors_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None


async def audit_page(conn: Conn, where: AuditFilter, limit: int) -> list[dict[str, Any]]:
    """Audit entries, newest first; `before_id` pages on."""
    f = Filters()
    if where.account is not None:
        f.add("account = ?", where.account)
    if where.route is not None:
        f.add("starts_with(route, ?)", where.route)
    if where.object is not None:
        f.add("object = ?", where.object)
    if where.status is not None:
        f.add("status = ?", where.status)
    if where.errors_only:
        f.add("status >= 400")
    if where.since is not None:
        f.add("at >= ?", where.since)
    if where.until is not None:
        f.add("at < ?", where.until)
    if where.before_id is not None:
        f.add("id < ?", where.before_id)
    sql = render(_Q.audit_page, where=f.where(), limit=f.next_param())
    return [_doc(r) for r in await conn.fetch(sql, *f.args, limit)]


class AccountStore:
    """The functions above bound to a pool (the API) or a connection (the command line)."""

    def __init__(self, db: Conn) -> None:
        self.db = db

    async def create_account(self, name: str, level: str) -> dict[str, Any]:
        return await create_account(self.db, name, level)

    async def account(self, name: str) -> dict[str, Any] | None:
        return await account(self.db, name)

    async def set_level(self, name: str, level: str) -> dict[str, Any]:
        return await set_level(self.db, name, level)

    async def list_accounts(self) -> list[dict[str, Any]]:
        return await list_accounts(self.db)

    async def create_key(
        self,
        *,
        account_name: str,
        key_name: str,
        key_hash: str,
        level: str | None = None,
        expires_at: datetime | None = None,
    ) -> dict[str, Any]:
        args: dict[str, Any] = {
            "account_name": account_name,
            "key_name": key_name,
            "key_hash": key_hash,
            "level": level,
            "expires_at": expires_at,
        }
        if isinstance(self.db, asyncpg.Connection):
            return await create_key(self.db, **args)
        async with self.db.acquire() as conn:
            return await create_key(conn, **args)

    async def list_keys(
        self, *, account_name: str | None = None, include_revoked: bool = False
    ) -> list[dict[str, Any]]:
        return await list_keys(self.db, account_name=account_name, include_revoked=include_revoked)

    async def revoke_key(self, name_or_id: str) -> dict[str, Any]:
        return await revoke_key(self.db, name_or_id)

    async def key_by_hash(self, key_hash: str) -> KeyInfo | None:
        return await key_by_hash(self.db, key_hash)

    async def any_live_key(self) -> bool:
        return await any_live_key(self.db)

    async def reserve(
        self, key_id: int, kind: Kind, window: datetime, hits: int, limit: int
    ) -> int | None:
        return await reserve(self.db, key_id, kind, window, hits, limit)

    async def window_hits(self, key_id: int, kind: Kind, window: datetime) -> int:
        return await window_hits(self.db, key_id, kind, window)

    async def touch_keys(self, used: dict[int, datetime]) -> None:
        await touch_keys(self.db, used)

    async def prune_rate_counts(self, before: datetime) -> None:
        await prune_rate_counts(self.db, before)

    async def audit(self, entry: AuditEntry) -> None:
        await audit(self.db, entry)

    async def audit_page(self, where: AuditFilter, limit: int) -> list[dict[str, Any]]:
        return await audit_page(self.db, where, limit)
