"""What every command needs before it does its work: an event loop, an up-to-date schema,
settings with logging configured.

This module sits below every stage's command module and above the database
layer, so that the top-level CLI and each stage's `cli.py` share one copy
without importing one another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from predhub.db import migrate
from predhub.db.connect import connect
from predhub.logging import configure_logging
from predhub.settings import Settings, get_settings

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine on uvloop where it exists (faster), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        return asyncio.run(coro)
    return uvloop.run(coro)


async def upgrade_schema(url: str) -> list[migrate.Migration]:
    """Apply pending migrations on a connection of its own; returns those applied."""
    conn = await connect(url)
    try:
        return await migrate.upgrade(conn)
    finally:
        await conn.close()


async def schema_status(url: str) -> migrate.SchemaStatus:
    """The schema version and the migrations not yet applied."""
    conn = await connect(url)
    try:
        return await migrate.status(conn)
    finally:
        await conn.close()


def load_settings(verbose: bool = False) -> Settings:
    """The process's settings, with logging set up from them (DEBUG when `verbose`)."""
    settings = get_settings()
    configure_logging("DEBUG" if verbose else settings.log_level, settings.log_json)
    return settings
