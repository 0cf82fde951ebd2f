-- Bookkeeping of the migrations runner (predhub.db.migrate): which versions are
-- applied, under an advisory lock so concurrent starts apply each file once.

-- name: available_extensions
-- The extensions this server could create (only those it has are created).
SELECT name FROM pg_available_extensions

-- name: create_extension
-- Creates one extension; {extension} is a quoted name from the runner's own constants.
CREATE EXTENSION IF NOT EXISTS {extension}

-- name: ensure_migrations_table
-- The table of applied migrations, created before the first one is applied.
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.schema_migrations (
    version     integer PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- name: migrations_table_exists
-- Whether the bookkeeping table exists yet; a fresh database has applied nothing.
SELECT to_regclass('ops.schema_migrations') IS NOT NULL

-- name: applied_migrations
-- Applied versions with the checksum of the file as applied, to warn when a file changed.
SELECT version, checksum FROM ops.schema_migrations

-- name: lock_migrations
-- Serialises processes that start at once so each migration runs exactly once.
SELECT pg_advisory_lock($1)

-- name: unlock_migrations
-- Releases the lock taken by lock_migrations.
SELECT pg_advisory_unlock($1)

-- name: record_migration
-- Marks a migration applied, in the same transaction as the migration itself.
INSERT INTO ops.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)
