-- Shared by the bronze and silver writers (predhub.ingest.silver.common).

-- name: create_staging
-- A per-connection temporary table for one batch: created on first use, emptied now
-- and at commit, so the merge statement that follows sees this batch alone. {table} and
-- {columns} come from a StagingTable, whose names are code constants.
CREATE TEMP TABLE IF NOT EXISTS {table} ({columns}) ON COMMIT DELETE ROWS;TRUNCATE {table}
