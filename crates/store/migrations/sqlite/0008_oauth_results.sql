-- The outcome of each OAuth attempt, for a modal that the provider's callback page could not reach: a
-- provider whose Cross-Origin-Opener-Policy severs window.opener, with a BroadcastChannel partitioned by
-- top-level site, leaves the modal no other way to learn it. Keyed by a keyed hash of the attempt id the
-- modal got from /v1/authkit/oauth/start, readable only by the session that started the attempt. The result
-- is the JSON the callback page posts (a connection's public record or an error code): never credentials.
CREATE TABLE oauth_results (
    attempt_hash TEXT PRIMARY KEY NOT NULL,
    session_id   TEXT NOT NULL,
    result       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX oauth_results_by_expiry ON oauth_results (expires_at);
