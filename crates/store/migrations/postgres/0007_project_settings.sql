-- Settings of a project environment that change how its requests are served (today one: passthrough
-- requires an action id). One row per (project, environment) ever changed; no row means all defaults.
-- Read together with the secret key that authenticates a request (one join), never on their own per request.
CREATE TABLE project_settings (
    project_id         TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment        TEXT NOT NULL CHECK (environment IN ('test', 'live')),
    require_action_ids BIGINT NOT NULL DEFAULT 0 CHECK (require_action_ids IN (0, 1)),
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (project_id, environment)
);
