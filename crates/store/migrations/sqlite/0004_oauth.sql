-- OAuth: authorization attempts (state stored only as a keyed hash, single use) and the refresh
-- bookkeeping on connections (a lease so one node at a time refreshes a connection; backoff after failures).
CREATE TABLE oauth_states (
    state_hash    TEXT PRIMARY KEY NOT NULL,
    session_id    TEXT NOT NULL,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment   TEXT NOT NULL CHECK (environment IN ('test', 'live')),
    identity      TEXT NOT NULL,
    identity_type TEXT NOT NULL,
    platform      TEXT NOT NULL,
    fields        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);

ALTER TABLE connections ADD COLUMN refresh_lease_owner TEXT;
ALTER TABLE connections ADD COLUMN refresh_lease_until INTEGER;
ALTER TABLE connections ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN refresh_next_at INTEGER;
CREATE INDEX connections_by_oauth_expiry ON connections (oauth_expires_at);
