-- The research store: research gathered for a market, analyses (live and
-- archived) and their one conclusion each, and the worker's upkeep of them.

-- name: insert_research
-- New research for a market.
INSERT INTO app.research (market_id, research_type, research_data, sources, expires_at, created_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, market_id, research_type, research_data, sources, created_at, expires_at

-- name: research_page
-- A market's unexpired research, newest first; {where} holds numbered parameters only.
SELECT id, market_id, research_type, research_data, sources, created_at, expires_at
FROM app.research r {where}
ORDER BY created_at DESC, id LIMIT {limit}

-- name: expired_research_count
-- How many of a market's research items have expired but are not deleted yet.
SELECT count(*) FROM app.research WHERE market_id = $1 AND expires_at <= $2

-- name: research_by_id
-- One research item, expired or not (the caller answers 410 for expired ones).
SELECT id, market_id, research_type, research_data, sources, created_at, expires_at
FROM app.research WHERE id = $1

-- name: insert_analysis
-- A new analysis; no row when the research it names is not this market's.
INSERT INTO app.analysis (market_id, research_id, query_text, analysis_result, confidence_score,
                          recommendation, processing_time_ms, llm_tokens_used, created_by)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
WHERE $2::uuid IS NULL
   OR EXISTS (SELECT 1 FROM app.research r WHERE r.id = $2 AND r.market_id = $1)
RETURNING id, market_id, research_id, query_text, analysis_result, confidence_score,
          recommendation, processing_time_ms, llm_tokens_used, created_at

-- name: analysis_page
-- A market's analyses (live or archived table), newest first; {where} holds numbered parameters.
SELECT id, market_id, research_id, query_text, analysis_result, confidence_score,
       recommendation, processing_time_ms, llm_tokens_used, created_at
FROM {table} a {where}
ORDER BY created_at DESC, id LIMIT {limit}

-- name: analysis_by_id
-- One analysis, live or archived, with its conclusion (if any).
SELECT a.id, a.market_id, a.research_id, a.query_text, a.analysis_result, a.confidence_score,
       a.recommendation, a.processing_time_ms, a.llm_tokens_used, a.created_at, a.archived,
       c.id AS conclusion_id, c.conclusion, c.sentiment, c.supporting_data,
       c.created_at AS conclusion_created_at
FROM (
    SELECT id, market_id, research_id, query_text, analysis_result, confidence_score,
           recommendation, processing_time_ms, llm_tokens_used, created_at, false AS archived
    FROM app.analysis WHERE id = $1
    UNION ALL
    SELECT id, market_id, research_id, query_text, analysis_result, confidence_score,
           recommendation, processing_time_ms, llm_tokens_used, created_at, true
    FROM app.analysis_archive WHERE id = $1
) a LEFT JOIN app.conclusions c ON c.analysis_id = a.id
LIMIT 1

-- name: insert_conclusion
-- The conclusion of an existing analysis (live or archived); no row when there is
-- no such analysis; a second one for the same analysis is a unique violation.
INSERT INTO app.conclusions (analysis_id, conclusion, sentiment, supporting_data, created_by)
SELECT $1, $2, $3, $4, $5
WHERE EXISTS (SELECT 1 FROM app.analysis WHERE id = $1)
   OR EXISTS (SELECT 1 FROM app.analysis_archive WHERE id = $1)
RETURNING id, analysis_id, conclusion, sentiment, supporting_data, created_at

-- name: delete_expired_research
-- Research past its expiry, a batch at a time (analyses keep their row, research_id cleared).
DELETE FROM app.research WHERE id IN (
    SELECT id FROM app.research WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)

-- name: archive_analyses
-- Move analyses created before the cutoff to the archive, a batch at a time, in one statement.
WITH moved AS (
    DELETE FROM app.analysis WHERE id IN (
        SELECT id FROM app.analysis WHERE created_at < $1 ORDER BY created_at LIMIT $2)
    RETURNING *)
INSERT INTO app.analysis_archive
    (id, market_id, research_id, query_text, analysis_result, confidence_score, recommendation,
     processing_time_ms, llm_tokens_used, created_by, created_at, archived_at)
SELECT id, market_id, research_id, query_text, analysis_result, confidence_score, recommendation,
       processing_time_ms, llm_tokens_used, created_by, created_at, $3
FROM moved
