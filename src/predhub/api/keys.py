"""Admin API keys: shown once at creation, stored only as their sha256.

A key is accepted when it matches ADMIN_API_KEY (compared in constant time)
or an unrevoked row of `ops.api_keys` with the `admin` scope.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from predhub.service.catalog import Connection, store_key
from predhub.service.service import MarketDataService
from predhub.settings import Settings

KEY_PREFIX = "phk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_key(conn: Connection, name: str, scopes: list[str] | None = None) -> str:
    """Store a new key's hash under `name`; returns the key, which is never stored."""
    key = new_key()
    await store_key(conn, name, hash_key(key), scopes or ["admin"])
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
