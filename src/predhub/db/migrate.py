"""Versioned SQL migrations with a migrations table.

Migrations are `NNNN_name.sql` files in `predhub/db/migrations/`, applied in
order, each in its own transaction, under an advisory lock so that several
processes starting at once apply each file exactly once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg
import structlog

from predhub.db.errors import MigrationError as MigrationError
from predhub.db.queries import load, render

log = structlog.get_logger(__name__)

MIGRATION_LOCK_KEY = 0x70726564  # "pred"
# Query monitoring when the server has it; the schema itself needs no extension.
OPTIONAL_EXTENSIONS = ("pg_stat_statements",)
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_Q = load("migrate")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    folder = resources.files("predhub.db") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise MigrationError(f"two migration files share a version: {versions}")
    return found


async def ensure_extensions(conn: asyncpg.Connection) -> list[str]:
    """Create the optional extensions the server has; returns those it lacks.

    Databases migrated by earlier versions also have pg_trgm and unaccent,
    which nothing uses; they are left in place (dropping them could break an
    operator's own objects), and a server without them migrates as well.
    """
    rows = await conn.fetch(_Q.available_extensions)
    available = {r["name"] for r in rows}
    missing: list[str] = []
    for ext in OPTIONAL_EXTENSIONS:
        if ext in available:
            await _create_extension(conn, ext)
        else:
            missing.append(ext)
            log.warning("db.extension_missing", extension=ext, effect="query monitoring is off")
    return missing


async def _create_extension(conn: asyncpg.Connection, ext: str) -> None:
    """CREATE EXTENSION takes no bind parameter, so the name is interpolated: only the
    runner's own constants are accepted, never a name from input."""
    assert ext in OPTIONAL_EXTENSIONS, ext
    await conn.execute(render(_Q.create_extension, extension=f'"{ext}"'))


async def _ensure_table(conn: asyncpg.Connection) -> None:
    await conn.execute(_Q.ensure_migrations_table)


async def applied_versions(conn: asyncpg.Connection) -> dict[int, str]:
    exists = await conn.fetchval(_Q.migrations_table_exists)
    if not exists:
        return {}
    rows = await conn.fetch(_Q.applied_migrations)
    return {r["version"]: r["checksum"] for r in rows}


async def upgrade(conn: asyncpg.Connection, *, target: int | None = None) -> list[Migration]:
    """Apply every pending migration up to `target` (default: the latest); returns those applied.

    A target lets a test build the schema an earlier release left, then upgrade
    it with data in place, as a deployment does.
    """
    known = [m.version for m in available_migrations()]
    if target is not None and target not in known:
        raise MigrationError(f"no migration has version {target}; known versions: {known}")
    applied_now: list[Migration] = []
    await conn.execute(_Q.lock_migrations, MIGRATION_LOCK_KEY)
    try:
        await ensure_extensions(conn)
        await _ensure_table(conn)
        done = await applied_versions(conn)
        for migration in available_migrations():
            if target is not None and migration.version > target:
                break
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    log.warning(
                        "db.migration_changed", version=migration.version, name=migration.name
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    _Q.record_migration,
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info("db.migrated", version=migration.version, name=migration.name)
            applied_now.append(migration)
    finally:
        await conn.execute(_Q.unlock_migrations, MIGRATION_LOCK_KEY)
    return applied_now


@dataclass(frozen=True)
class SchemaStatus:
    current: int | None
    latest: int
    pending: list[Migration]

    @property
    def up_to_date(self) -> bool:
        return not self.pending


async def status(conn: asyncpg.Connection) -> SchemaStatus:
    done = await applied_versions(conn)
    migrations = available_migrations()
    pending = [m for m in migrations if m.version not in done]
    return SchemaStatus(
        current=max(done) if done else None,
        latest=migrations[-1].version if migrations else 0,
        pending=pending,
    )
