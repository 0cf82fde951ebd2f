"""API keys: shown once at creation, stored only as their sha256, each of an account.

`presented_key` is the one reading of a request's key (X-API-Key, else
`Authorization: Bearer`); `predhub.api.access` checks it once per request, before
routing, and leaves what it found in the request's state for the routes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from predhub.service.accounts import AccountStore
from predhub.service.catalog import Connection

KEY_PREFIX = "phk_"
KEY_HEADER = b"x-api-key"
MAX_KEY_HEADER = 600  # longer credentials are refused unread


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


def presented_key(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The key in X-API-Key, else in `Authorization: Bearer`, as ASCII bytes; None when
    absent or unusable. Header names are compared as ASGI gives them, lowercased; the
    bytes (not a decoded string) are what a process keeps its checks by, so a read by a
    known key decodes nothing."""
    raw: bytes | None = None
    bearer: bytes | None = None
    for name, value in headers:
        if name == KEY_HEADER:
            if raw is None:
                raw = value
        elif name == b"authorization" and value[:7].lower() == b"bearer ":
            bearer = value[7:]
    chosen = raw or bearer
    if not chosen or len(chosen) > MAX_KEY_HEADER or not chosen.isascii():
        return None
    return chosen.strip() or None
