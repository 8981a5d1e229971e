-- Per-secret-key rate limits shared by every node: one token bucket per key, counted in thousandths of a
-- token and refilled by elapsed time on the database's clock. Nodes lease whole tokens from it in chunks
-- (one statement per chunk, never one per request). One row per key ever limited; no tenant data.
-- SQLite is one node: Keyway keeps its buckets in memory there; the table keeps the two schemas equal.
CREATE TABLE rate_limits (
    key_id       TEXT PRIMARY KEY NOT NULL,
    milli_tokens INTEGER NOT NULL CHECK (milli_tokens >= 0),
    refilled_at  INTEGER NOT NULL,
    granted      INTEGER NOT NULL
);
