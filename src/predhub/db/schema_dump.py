"""The schema as deterministic text, read from the catalogs (`predhub db dump-schema`).

A migrated empty database is compared against the committed dump
(`src/predhub/db/schema.sql`), so a migration's effect on the schema shows up
in review as a diff of that file. The text is built from pg_catalog rather
than pg_dump, whose output changes with its version: schemas, extensions
(other than the optional monitoring ones), enum types, tables with their
columns (type, nullability, default, identity, generated expression),
constraints, indexes, views, sequences, functions and triggers, each section
sorted by name. Objects owned by extensions are left out. Two things differ
between server versions and are left out too: NOT NULL constraints appear on
their columns only (PostgreSQL 18 also lists them as constraints), and a
view is given by its columns, not its deparsed query (whose table prefixes
changed in PostgreSQL 16).
"""

from __future__ import annotations

import asyncpg

from predhub.db.migrate import OPTIONAL_EXTENSIONS
from predhub.db.queries import load

_Q = load("schema_dump")


def _column(row: asyncpg.Record) -> str:
    parts = [f"    {row['attname']} {row['type']}"]
    if row["attnotnull"]:
        parts.append("NOT NULL")
    if row["attidentity"]:
        parts.append("GENERATED " + ("ALWAYS" if row["attidentity"] == "a" else "BY DEFAULT"))
        parts.append("AS IDENTITY")
    elif row["attgenerated"]:
        parts.append(f"GENERATED ALWAYS AS ({row['expr']}) STORED")
    elif row["expr"] is not None:
        parts.append(f"DEFAULT {row['expr']}")
    return " ".join(parts)


async def dump_schema(conn: asyncpg.Connection) -> str:
    """The schema of the connected database as text, the same for the same schema."""
    out: list[str] = ["-- predhub schema (written by `predhub db dump-schema`; do not edit)", ""]
    for row in await conn.fetch(_Q.schemas):
        out.append(f"SCHEMA {row['nspname']}")
    for row in await conn.fetch(_Q.extensions, list(OPTIONAL_EXTENSIONS)):
        out.append(f"EXTENSION {row['extname']}")
    for row in await conn.fetch(_Q.enums):
        out.append(f"ENUM {row['name']} ({', '.join(row['labels'])})")
    for table in await conn.fetch(_Q.tables):
        kind = "PARTITIONED TABLE" if table["relkind"] == "p" else "TABLE"
        out += ["", f"{kind} {table['name']}"]
        if table["partkey"]:
            out.append(f"  PARTITION BY {table['partkey']}")
        out += [_column(row) for row in await conn.fetch(_Q.columns, table["oid"])]
        for row in await conn.fetch(_Q.constraints, table["oid"]):
            out.append(f"  CONSTRAINT {row['conname']} {row['def']}")
        for row in await conn.fetch(_Q.indexes, table["oid"]):
            out.append(f"  {row['def']}")
        for row in await conn.fetch(_Q.triggers, table["oid"]):
            out.append(f"  {row['def']}")
    for row in await conn.fetch(_Q.views):
        kind = "MATERIALIZED VIEW" if row["relkind"] == "m" else "VIEW"
        out += ["", f"{kind} {row['name']}"]
        out += [_column(col) for col in await conn.fetch(_Q.columns, row["oid"])]
    for row in await conn.fetch(_Q.sequences):
        out += ["", f"SEQUENCE {row['name']} {row['type']}"]
    for row in await conn.fetch(_Q.functions):
        out += ["", f"FUNCTION {row['name']}", row["def"].strip()]
    return "\n".join(out) + "\n"
