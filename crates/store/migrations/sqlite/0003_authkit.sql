-- Integration settings per project environment (AuthKit visibility, the customer's own OAuth app) and
-- AuthKit sessions (short-lived tokens the connect modal acts with, stored as keyed hashes).
CREATE TABLE integrations (
    project_id       TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment      TEXT NOT NULL CHECK (environment IN ('test', 'live')),
    platform         TEXT NOT NULL,
    enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    client_id        TEXT,
    client_secret_id TEXT,
    client_secret_hint TEXT,
    scopes           TEXT,
    activated_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (project_id, environment, platform)
);

CREATE TABLE authkit_sessions (
    id            TEXT PRIMARY KEY NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    project_id    TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment   TEXT NOT NULL CHECK (environment IN ('test', 'live')),
    identity      TEXT NOT NULL,
    identity_type TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX authkit_sessions_by_expiry ON authkit_sessions (expires_at);
