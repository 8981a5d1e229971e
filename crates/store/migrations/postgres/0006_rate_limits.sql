-- Per-secret-key rate limits shared by every node: one token bucket per key, counted in thousandths of a
-- token and refilled by elapsed time on the database's clock. Nodes lease whole tokens from it in chunks
-- (one statement per chunk, never one per request). One row per key ever limited; no tenant data.
CREATE TABLE rate_limits (
    key_id       TEXT PRIMARY KEY NOT NULL,
    milli_tokens BIGINT NOT NULL CHECK (milli_tokens >= 0),
    refilled_at  BIGINT NOT NULL,
    granted      BIGINT NOT NULL
);
