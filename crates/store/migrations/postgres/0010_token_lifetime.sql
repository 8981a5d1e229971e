-- When a connection's current access token was obtained (set with a known expiry at connect, and by every
-- successful refresh, strictly increasing). With oauth_expires_at it gives the token's lifetime, which
-- bounds how early it is refreshed (never before half of it has passed); and it tells one token
-- generation from the next, so callers who waited for a refresh use that refresh's token.
ALTER TABLE connections ADD COLUMN oauth_issued_at BIGINT;
