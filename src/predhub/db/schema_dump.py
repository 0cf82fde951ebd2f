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

# Objects of our own schemas that no extension owns.
_OURS = """
n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
AND NOT EXISTS (SELECT 1 FROM pg_depend d
                WHERE d.objid = {oid} AND d.deptype = 'e')
"""

_SCHEMAS = """
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND n.nspname NOT LIKE 'pg_%'
ORDER BY 1
"""

_EXTENSIONS = """
SELECT extname FROM pg_extension
WHERE extname <> 'plpgsql' AND NOT (extname = ANY($1::text[]))
ORDER BY 1
"""

_ENUMS = f"""
SELECT format('%I.%I', n.nspname, t.typname) AS name,
       array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE {_OURS.format(oid="t.oid")}
GROUP BY 1 ORDER BY 1
"""

_TABLES = f"""
SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND {_OURS.format(oid="c.oid")}
ORDER BY 2
"""

_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) AS expr, a.attidentity::text AS attidentity,
       a.attgenerated::text AS attgenerated
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_CONSTRAINTS = """
SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
WHERE conrelid = $1 AND contype <> 'n'
ORDER BY 1
"""

_INDEXES = """
SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = $1
ORDER BY c.relname
"""

_TRIGGERS = """
SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t
WHERE t.tgrelid = $1 AND NOT t.tgisinternal
ORDER BY t.tgname
"""

_VIEWS = f"""
SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND {_OURS.format(oid="c.oid")}
ORDER BY 1
"""

_SEQUENCES = f"""
SELECT format('%I.%I', n.nspname, c.relname) AS name, format_type(s.seqtypid, NULL) AS type
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relkind = 'S' AND {_OURS.format(oid="c.oid")}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')
ORDER BY 1
"""

_FUNCTIONS = f"""
SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
         AS name,
       pg_get_functiondef(p.oid) AS def
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p') AND {_OURS.format(oid="p.oid")}
ORDER BY 1
"""


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
    for row in await conn.fetch(_SCHEMAS):
        out.append(f"SCHEMA {row['nspname']}")
    for row in await conn.fetch(_EXTENSIONS, list(OPTIONAL_EXTENSIONS)):
        out.append(f"EXTENSION {row['extname']}")
    for row in await conn.fetch(_ENUMS):
        out.append(f"ENUM {row['name']} ({', '.join(row['labels'])})")
    for table in await conn.fetch(_TABLES):
        kind = "PARTITIONED TABLE" if table["relkind"] == "p" else "TABLE"
        out += ["", f"{kind} {table['name']}"]
        out += [_column(row) for row in await conn.fetch(_COLUMNS, table["oid"])]
        for row in await conn.fetch(_CONSTRAINTS, table["oid"]):
            out.append(f"  CONSTRAINT {row['conname']} {row['def']}")
        for row in await conn.fetch(_INDEXES, table["oid"]):
            out.append(f"  {row['def']}")
        for row in await conn.fetch(_TRIGGERS, table["oid"]):
            out.append(f"  {row['def']}")
    for row in await conn.fetch(_VIEWS):
        kind = "MATERIALIZED VIEW" if row["relkind"] == "m" else "VIEW"
        out += ["", f"{kind} {row['name']}"]
        out += [_column(col) for col in await conn.fetch(_COLUMNS, row["oid"])]
    for row in await conn.fetch(_SEQUENCES):
        out += ["", f"SEQUENCE {row['name']} {row['type']}"]
    for row in await conn.fetch(_FUNCTIONS):
        out += ["", f"FUNCTION {row['name']}", row["def"].strip()]
    return "\n".join(out) + "\n"
