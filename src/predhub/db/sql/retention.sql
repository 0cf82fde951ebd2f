-- Raw history past BRONZE_RETENTION_DAYS (predhub.ingest.retention); $1 is the cutoff time.

-- name: prune_sightings
-- Sightings older than the cutoff.
DELETE FROM bronze.response_sightings WHERE fetched_at < $1

-- name: prune_responses
-- Responses first fetched before the cutoff that no remaining sighting references
-- (run after prune_sightings, so a payload still seen recently stays).
DELETE FROM bronze.api_responses r
WHERE r.fetched_at < $1
  AND NOT EXISTS (SELECT 1 FROM bronze.response_sightings s WHERE s.response_id = r.id)

-- name: prune_books
-- Order-book snapshots observed before the cutoff, but each outcome's latest (still served).
DELETE FROM silver.order_book_snapshots b
WHERE b.observed_at < $1
  AND EXISTS (
      SELECT 1 FROM silver.order_book_snapshots n
      WHERE n.outcome_id = b.outcome_id AND n.observed_at > b.observed_at
  )
