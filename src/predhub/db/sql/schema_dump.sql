-- The catalog reads of `predhub db dump-schema` (predhub.db.schema_dump). Every object
-- read is in one of our schemas and owned by no extension (no pg_depend row of type 'e').

-- name: schemas
-- Our schemas, by name.
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND n.nspname NOT LIKE 'pg_%'
ORDER BY 1

-- name: extensions
-- Extensions the schema has, but plpgsql and the optional ones ($1) a server may lack.
SELECT extname FROM pg_extension
WHERE extname <> 'plpgsql' AND NOT (extname = ANY($1::text[]))
ORDER BY 1

-- name: enums
-- Enum types with their labels in order.
SELECT format('%I.%I', n.nspname, t.typname) AS name,
       array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
GROUP BY 1 ORDER BY 1

-- name: tables
-- Tables (plain and partitioned, with the partition key), by qualified name. Partitions
-- are not schema: the worker makes them as time goes by (predhub.db.partitions).
SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, c.relkind,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY 2

-- name: columns
-- The columns of relation $1 in order: type, nullability, default or generated expression, identity.
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid) AS expr, a.attidentity::text AS attidentity,
       a.attgenerated::text AS attgenerated
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum

-- name: constraints
-- Constraints of table $1 by name; NOT NULL ones are shown on their columns instead.
SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
WHERE conrelid = $1 AND contype <> 'n'
ORDER BY 1

-- name: indexes
-- Indexes of table $1 by name.
SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = $1
ORDER BY c.relname

-- name: triggers
-- User triggers of table $1 by name.
SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t
WHERE t.tgrelid = $1 AND NOT t.tgisinternal
ORDER BY t.tgname

-- name: views
-- Views and materialized views, by qualified name.
SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY 2

-- name: sequences
-- Sequences of their own (identity sequences belong to their columns).
SELECT format('%I.%I', n.nspname, c.relname) AS name, format_type(s.seqtypid, NULL) AS type
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relkind = 'S'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('e', 'i'))
ORDER BY 1

-- name: functions
-- Functions and procedures with their definitions, by signature.
SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
         AS name,
       pg_get_functiondef(p.oid) AS def
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
