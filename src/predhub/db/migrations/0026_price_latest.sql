-- Each outcome's latest price history point, kept beside the weekly partitions of
-- silver.price_history (0017) by the same statement triggers that mark dirty
-- buckets. A read of "the latest point" without a time bound (the sampling of every
-- quote write) could not prune: it opened every weekly partition, newest first, and
-- walked back through all of them for an outcome whose latest point was old or
-- missing. It now reads one narrow row, whatever the number of partitions.
--
-- A newer point replaces the row, an older one (a backfill) does not, and an update
-- of the latest point itself (same ts, new price) rewrites it. Retention dropping a
-- week of points leaves the row as it is: it is still the outcome's latest point.

CREATE TABLE silver.price_latest (
    outcome_id bigint PRIMARY KEY REFERENCES silver.outcomes (id) ON DELETE CASCADE,
    ts         timestamptz NOT NULL,
    price      numeric     NOT NULL
);

INSERT INTO silver.price_latest (outcome_id, ts, price)
SELECT DISTINCT ON (outcome_id) outcome_id, ts, price
FROM silver.price_history
ORDER BY outcome_id, ts DESC;

CREATE OR REPLACE FUNCTION silver.price_history_touched() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO silver.price_history_dirty (outcome_id, bucket)
    SELECT DISTINCT outcome_id, date_bin('15 minutes', ts, 'epoch'::timestamptz)
    FROM new_rows ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    INSERT INTO silver.price_latest AS l (outcome_id, ts, price)
    SELECT DISTINCT ON (outcome_id) outcome_id, ts, price
    FROM new_rows ORDER BY outcome_id, ts DESC
    ON CONFLICT (outcome_id) DO UPDATE SET ts = excluded.ts, price = excluded.price
    WHERE excluded.ts >= l.ts AND (excluded.ts, excluded.price) IS DISTINCT FROM (l.ts, l.price);
    RETURN NULL;
END;
$$;
