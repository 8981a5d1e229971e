-- Foundation: projects, secret keys, master-key fingerprints, sealed secrets.
-- Timestamps are unix milliseconds (BIGINT here, INTEGER in SQLite) so both backends agree exactly.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE secret_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    project_id  TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('test', 'live')),
    key_hash    TEXT NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX secret_keys_project ON secret_keys (project_id, environment);

CREATE TABLE master_keys (
    key_id      TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL,
    added_at    BIGINT NOT NULL
);

CREATE TABLE sealed_secrets (
    id          TEXT PRIMARY KEY NOT NULL,
    scope       TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    blob        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX sealed_secrets_key_id ON sealed_secrets (key_id, id);
