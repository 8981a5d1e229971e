-- The dashboard: operator accounts (Argon2id password hashes, never a password), their one-time links
-- and sessions (tokens stored only as keyed hashes), sign-in throttling shared by every node, and the
-- audit trail of changes from the dashboard, the API and the CLI (never a secret in it).
CREATE TABLE operators (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- 'setup' links create the first owner (operator_id NULL); 'password' links let an existing account
-- choose its password (new accounts and resets). Single use: taken with DELETE … RETURNING.
CREATE TABLE operator_links (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('setup', 'password')),
    operator_id TEXT REFERENCES operators (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX operator_links_by_operator ON operator_links (operator_id);

CREATE TABLE dashboard_sessions (
    token_hash     TEXT PRIMARY KEY NOT NULL,
    id             TEXT NOT NULL UNIQUE,
    operator_id    TEXT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    client_address TEXT
);
CREATE INDEX dashboard_sessions_by_operator ON dashboard_sessions (operator_id);
CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);

-- One row per throttled subject: a keyed hash of an email as typed, or a client address.
CREATE TABLE sign_in_throttle (
    subject         TEXT PRIMARY KEY NOT NULL,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until   BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id             TEXT PRIMARY KEY NOT NULL,
    project_id     TEXT,
    environment    TEXT CHECK (environment IN ('test', 'live')),
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT,
    actor_label    TEXT NOT NULL,
    action         TEXT NOT NULL,
    target         TEXT,
    detail         TEXT NOT NULL,
    client_address TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (created_at, id);
CREATE INDEX audit_events_by_project ON audit_events (project_id, created_at, id);

-- What the dashboard shows and filters on.
ALTER TABLE secret_keys ADD COLUMN name TEXT;
ALTER TABLE secret_keys ADD COLUMN last_used_at BIGINT;
ALTER TABLE project_settings ADD COLUMN brand_name TEXT;
ALTER TABLE project_settings ADD COLUMN brand_logo_url TEXT;
ALTER TABLE project_settings ADD COLUMN brand_theme TEXT;
ALTER TABLE connections ADD COLUMN refreshed_at BIGINT;
ALTER TABLE connections ADD COLUMN refresh_error TEXT;
CREATE INDEX connections_by_platform ON connections (project_id, environment, platform, created_at, id);
CREATE INDEX connections_by_state ON connections (project_id, environment, state, created_at, id);
CREATE INDEX request_logs_by_connection ON request_logs (project_id, environment, connection_id, created_at, id);

-- Identity prefix search compares bytes (as SQLite's BINARY collation does), whatever the database's
-- collation: queries name `identity COLLATE "C"`, and an index serves them only in the same collation.
DROP INDEX connections_by_identity;
CREATE INDEX connections_by_identity ON connections (project_id, environment, (identity COLLATE "C"), created_at, id);
