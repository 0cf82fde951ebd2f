-- The freshness engine: which markets each job covers, and the planning cycle it belongs to.
--
-- A job lists its markets in `market_ids`, so the planner can leave out every
-- market that already sits in a queued or running job of the same kind (one
-- set-based NOT EXISTS over a GIN index) and no market is ever in two live
-- jobs of one kind. `cycle` numbers the planning round that created the job.

ALTER TABLE ops.jobs ADD COLUMN IF NOT EXISTS market_ids bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE ops.jobs ADD COLUMN IF NOT EXISTS cycle bigint;
ALTER TABLE ops.jobs ADD COLUMN IF NOT EXISTS cost integer NOT NULL DEFAULT 1;
ALTER TABLE ops.jobs ADD COLUMN IF NOT EXISTS started_at timestamptz;

CREATE INDEX IF NOT EXISTS jobs_active_markets_idx ON ops.jobs USING gin (market_ids)
    WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_venue_claim_idx ON ops.jobs (venue, status, priority DESC, id);
CREATE INDEX IF NOT EXISTS jobs_finished_idx ON ops.jobs (finished_at) WHERE finished_at IS NOT NULL;

-- The planner orders each venue's markets by priority and staleness per data kind.
CREATE INDEX IF NOT EXISTS markets_venue_priority_idx ON silver.markets (venue, sync_priority);
