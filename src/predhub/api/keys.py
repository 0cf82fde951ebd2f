"""API keys: shown once at creation, stored only as their sha256, each of an account.

A key is accepted as an admin's when it matches ADMIN_API_KEY (compared in
constant time) or is an unrevoked, unexpired key of an account whose level is
`admin` (keys made before accounts existed: the `admin` scope).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from predhub.service.accounts import AccountStore
from predhub.service.catalog import Connection
from predhub.service.service import MarketDataService
from predhub.settings import Settings

KEY_PREFIX = "phk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def issue_key(
    store: AccountStore,
    *,
    account: str,
    name: str | None = None,
    level: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """A new key for `account` (created at `level` when new): the key, never stored, and its row."""
    key = new_key()
    row = await store.create_key(
        account_name=account,
        key_name=name or f"{account}-{secrets.token_hex(3)}",
        key_hash=hash_key(key),
        level=level,
        expires_at=expires_at,
    )
    return key, row


async def create_key(conn: Connection, name: str) -> str:
    """An admin key named `name`, of an admin account of the same name; returns the key."""
    key, _ = await issue_key(AccountStore(conn), account=name, name=name, level="admin")
    return key


async def is_admin_key(
    service: MarketDataService, settings: Settings, presented: str | None
) -> bool:
    if not presented or len(presented) > 512:
        return False
    configured = settings.admin_api_key.get_secret_value() if settings.admin_api_key else ""
    if configured and hmac.compare_digest(hash_key(presented), hash_key(configured)):
        return True
    return await service.admin_key_known(hash_key(presented))


def header_key(x_api_key: str | None, authorization: str | None) -> str | None:
    """The key a route was given: X-API-Key, else `Authorization: Bearer <key>`."""
    if x_api_key:
        return x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None
