-- Accounts, their API keys, the per-minute rate counters every API process
-- shares, and the audit log of writes and admin actions.

-- name: create_account
-- A new account at a level; a taken name raises a unique violation.
INSERT INTO ops.accounts (name, level) VALUES ($1, $2)
RETURNING id, name, level, created_at

-- name: account_by_name
-- One account by its name.
SELECT id, name, level, created_at FROM ops.accounts WHERE name = $1

-- name: set_account_level
-- Change an account's level (its keys' cached checks are dropped by a trigger).
UPDATE ops.accounts SET level = $2, updated_at = now() WHERE name = $1
RETURNING id, name, level, created_at

-- name: list_accounts
-- Every account with how many live keys it holds.
SELECT a.id, a.name, a.level, a.created_at,
       count(k.id) FILTER (WHERE k.revoked_at IS NULL) AS live_keys
FROM ops.accounts a LEFT JOIN ops.api_keys k ON k.account_id = a.id
GROUP BY a.id ORDER BY a.name

-- name: create_account_key
-- A key (its sha256 only) for an account; the name is unique over all keys.
INSERT INTO ops.api_keys (name, key_hash, scopes, account_id, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, created_at, expires_at

-- name: key_by_hash
-- What a presented key is: its account and level, and whether it still works.
-- Keys made before accounts (no account) have the level their scopes give.
SELECT k.id, k.name, k.revoked_at, k.expires_at, a.id AS account_id,
       coalesce(a.name, k.name) AS account,
       coalesce(a.level, CASE WHEN 'admin' = ANY (k.scopes) THEN 'admin' ELSE 'whitelist' END)
           AS level
FROM ops.api_keys k LEFT JOIN ops.accounts a ON a.id = k.account_id
WHERE k.key_hash = $1

-- name: list_keys
-- Every key (never the key itself): account, level, times; revoked ones when asked.
SELECT k.id, k.name, coalesce(a.name, k.name) AS account,
       coalesce(a.level, CASE WHEN 'admin' = ANY (k.scopes) THEN 'admin' ELSE 'whitelist' END)
           AS level,
       k.created_at, k.last_used_at, k.expires_at, k.revoked_at
FROM ops.api_keys k LEFT JOIN ops.accounts a ON a.id = k.account_id
WHERE ($1::text IS NULL OR a.name = $1) AND ($2 OR k.revoked_at IS NULL)
ORDER BY k.id

-- name: revoke_key
-- Revoke a key by name or id (once; a revoked key keeps its first revocation time).
UPDATE ops.api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE name = $1 OR id::text = $1
RETURNING id, name, revoked_at

-- name: any_live_key
-- Whether any key could be presented at all (a hub without keys shows its status in full).
SELECT EXISTS (
    SELECT 1 FROM ops.api_keys
    WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
)

-- name: touch_keys
-- Keys used since the last flush: their last-used time (once per flush, not per request).
UPDATE ops.api_keys k SET last_used_at = u.at
FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, at)
WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)

-- name: reserve_hits
-- Take $4 hits of a key's minute if that keeps it within the limit $5; returns
-- the minute's total after taking them, or no row when they do not fit.
INSERT INTO ops.rate_counts AS c (key_id, kind, window_start, hits)
VALUES ($1, $2, $3, $4)
ON CONFLICT (key_id, kind, window_start) DO UPDATE SET hits = c.hits + EXCLUDED.hits
WHERE c.hits + EXCLUDED.hits <= $5
RETURNING hits

-- name: window_hits
-- A key's hits in a minute (after a reservation that did not fit).
SELECT hits FROM ops.rate_counts WHERE key_id = $1 AND kind = $2 AND window_start = $3

-- name: prune_rate_counts
-- Counters of minutes that are over.
DELETE FROM ops.rate_counts WHERE window_start < $1

-- name: audit
-- One audited request.
INSERT INTO ops.audit_log
    (account_id, account, key_id, key_name, level, method, route, object, status, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)

-- name: audit_page
-- Audit entries, newest first, filtered; {where} holds numbered parameters only.
SELECT id, at, account_id, account, key_id, key_name, level, method, route, object, status, error
FROM ops.audit_log {where}
ORDER BY at DESC, id DESC LIMIT {limit}
