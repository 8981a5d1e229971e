-- Connections: one identity's credentials for one platform in one project environment.
-- Credentials are sealed in sealed_secrets (id = '<connection id>/credentials'); nothing secret is here.
-- `tags` is the JSON array as returned; connection_tags is its index for filtering.
CREATE TABLE connections (
    id               TEXT PRIMARY KEY NOT NULL,
    key              TEXT NOT NULL UNIQUE,
    project_id       TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment      TEXT NOT NULL CHECK (environment IN ('test', 'live')),
    platform         TEXT NOT NULL,
    platform_version TEXT NOT NULL,
    identity         TEXT NOT NULL,
    identity_type    TEXT NOT NULL,
    name             TEXT,
    tags             TEXT NOT NULL,
    state            TEXT NOT NULL,
    active           INTEGER NOT NULL CHECK (active IN (0, 1)),
    version          INTEGER NOT NULL,
    fields           TEXT NOT NULL,
    oauth_expires_at INTEGER,
    oauth_scopes     TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX connections_by_env ON connections (project_id, environment, created_at, id);
CREATE INDEX connections_by_identity ON connections (project_id, environment, identity, created_at, id);

CREATE TABLE connection_tags (
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    tag           TEXT NOT NULL,
    PRIMARY KEY (connection_id, tag)
);
CREATE INDEX connection_tags_by_tag ON connection_tags (tag, connection_id);
