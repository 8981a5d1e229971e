-- Passthrough request log: what was called, when, how it went. Never bodies, never secrets, never query
-- values (only parameter names). Written in batches off the hot path; pruned by retention.
CREATE TABLE request_logs (
    id             TEXT PRIMARY KEY NOT NULL,
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment    TEXT NOT NULL CHECK (environment IN ('test', 'live')),
    request_id     TEXT NOT NULL,
    connection_id  TEXT NOT NULL,
    connection_key TEXT NOT NULL,
    platform       TEXT NOT NULL,
    action_id      TEXT,
    method         TEXT NOT NULL,
    path           TEXT NOT NULL,
    status         BIGINT NOT NULL,
    latency_ms     BIGINT NOT NULL,
    bytes_in       BIGINT NOT NULL,
    bytes_out      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX request_logs_by_env ON request_logs (project_id, environment, created_at, id);
CREATE INDEX request_logs_by_age ON request_logs (created_at);
