//! OAuth bookkeeping: single-use authorization states, and the refresh lease that makes one node at a time
//! refresh a connection. A lease has a deadline, so a holder that died blocks nobody for longer than that.

use std::collections::BTreeMap;

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::timestamp::Timestamp;
use sqlx::Row;

use crate::error::StoreError;
use crate::sealed::SealedRow;
use crate::Store;

/// One authorization attempt, from `start` to the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    pub session_id: String,
    pub project_id: ProjectId,
    pub environment: Environment,
    pub identity: Identity,
    pub identity_type: IdentityType,
    pub platform: String,
    /// Non-secret connection fields given at start (e.g. a subdomain).
    pub fields: BTreeMap<String, String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What a refresh writes: new sealed credentials and expiry, and the connection's new state. With new
/// credentials (a success) the expiry is written as given (none: the provider did not say) and the token's
/// issue time advances; without (a failure) the current token's expiry and issue time are kept.
#[derive(Debug, Clone)]
pub struct RefreshOutcome {
    pub state: &'static str,
    pub credentials: Option<SealedRow>,
    pub expires_at: Option<Timestamp>,
    pub scopes: Option<String>,
    pub failures: i64,
    pub next_attempt_at: Option<Timestamp>,
    /// Why the attempt failed (the provider's error, never a token); none on success.
    pub error: Option<String>,
}

/// A connection due for a proactive refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueConnection {
    pub id: String,
    pub project_id: ProjectId,
    pub environment: Environment,
}

impl Store {
    pub async fn insert_oauth_state(
        &self,
        state_hash: &str,
        s: &OAuthState,
    ) -> Result<(), StoreError> {
        let fields =
            serde_json::to_string(&s.fields).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO oauth_states (state_hash, session_id, project_id, environment, identity, identity_type, \
             platform, fields, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(state_hash)
        .bind(&s.session_id)
        .bind(s.project_id.as_str())
        .bind(s.environment.as_str())
        .bind(s.identity.as_str())
        .bind(s.identity_type.as_str())
        .bind(&s.platform)
        .bind(fields)
        .bind(s.created_at.unix_millis())
        .bind(s.expires_at.unix_millis())
        .execute(self.pool())
        .await?;
        // Abandoned attempts are of no use after a day.
        sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
            .bind(s.created_at.plus_seconds(-86_400).unix_millis())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Takes (deletes and returns) the state with this hash: a state works once, even under races.
    /// Expired states are taken too (so they cannot be retried) and reported as `None`.
    pub async fn take_oauth_state(
        &self,
        state_hash: &str,
        now: Timestamp,
    ) -> Result<Option<OAuthState>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING session_id, project_id, environment, \
             identity, identity_type, platform, fields, created_at, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let corrupt = |what: &str| StoreError::Corrupt(format!("oauth state {what}"));
        let environment: String = row.try_get("environment")?;
        let identity: String = row.try_get("identity")?;
        let identity_type: String = row.try_get("identity_type")?;
        let fields: String = row.try_get("fields")?;
        let state = OAuthState {
            session_id: row.try_get("session_id")?,
            project_id: ProjectId::from_trusted(row.try_get("project_id")?),
            environment: environment.parse().map_err(|_| corrupt("environment"))?,
            identity: Identity::parse(&identity).map_err(|_| corrupt("identity"))?,
            identity_type: identity_type
                .parse()
                .map_err(|_| corrupt("identity type"))?,
            platform: row.try_get("platform")?,
            fields: serde_json::from_str(&fields).map_err(|_| corrupt("fields"))?,
            created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
            expires_at: Timestamp::from_unix_millis(row.try_get("expires_at")?),
        };
        Ok((state.expires_at > now).then_some(state))
    }

    /// Records how an OAuth attempt ended (the first record wins), for the session that started it.
    pub async fn put_oauth_result(
        &self,
        attempt_hash: &str,
        session_id: &str,
        result: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_results (attempt_hash, session_id, result, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (attempt_hash) DO NOTHING",
        )
        .bind(attempt_hash)
        .bind(session_id)
        .bind(result)
        .bind(now.unix_millis())
        .bind(expires_at.unix_millis())
        .execute(self.pool())
        .await?;
        sqlx::query("DELETE FROM oauth_results WHERE expires_at < $1")
            .bind(now.unix_millis())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The recorded outcome of an attempt, if it ended, is not expired and belongs to `session_id`.
    pub async fn oauth_result(
        &self,
        attempt_hash: &str,
        session_id: &str,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT result FROM oauth_results WHERE attempt_hash = $1 AND session_id = $2 AND expires_at > $3",
        )
        .bind(attempt_hash)
        .bind(session_id)
        .bind(now.unix_millis())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| r.try_get("result"))
            .transpose()
            .map_err(Into::into)
    }

    /// Tries to take the refresh lease of a connection until `until`. True when this caller holds it.
    pub async fn acquire_refresh_lease(
        &self,
        connection_id: &str,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE connections SET refresh_lease_owner = $1, refresh_lease_until = $2 \
             WHERE id = $3 AND (refresh_lease_until IS NULL OR refresh_lease_until < $4 OR refresh_lease_owner = $1)",
        )
        .bind(owner)
        .bind(until.unix_millis())
        .bind(connection_id)
        .bind(now.unix_millis())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_refresh_lease(
        &self,
        connection_id: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE connections SET refresh_lease_owner = NULL, refresh_lease_until = NULL \
             WHERE id = $1 AND refresh_lease_owner = $2",
        )
        .bind(connection_id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Writes a refresh's result and releases the lease, atomically: new credentials are stored before
    /// anyone can use the new access token. Only the lease holder's write lands.
    pub async fn finish_refresh(
        &self,
        connection_id: &str,
        owner: &str,
        outcome: &RefreshOutcome,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        // A new token's issue time is `now`, or just after the previous one's should the clock disagree
        // (another node's, or two refreshes within a millisecond): it must differ from every earlier one.
        let token = if outcome.credentials.is_some() {
            "oauth_expires_at = $2, oauth_issued_at = CASE WHEN oauth_issued_at IS NOT NULL \
             AND oauth_issued_at >= $6 THEN oauth_issued_at + 1 ELSE $6 END"
        } else {
            "oauth_expires_at = COALESCE($2, oauth_expires_at)"
        };
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(&format!(
            "UPDATE connections SET state = $1, {token}, \
             oauth_scopes = COALESCE($3, oauth_scopes), refresh_failures = $4, refresh_next_at = $5, \
             refresh_lease_owner = NULL, refresh_lease_until = NULL, updated_at = $6, \
             refreshed_at = $6, refresh_error = $9 \
             WHERE id = $7 AND refresh_lease_owner = $8"
        ))
        .bind(outcome.state)
        .bind(outcome.expires_at.map(Timestamp::unix_millis))
        .bind(outcome.scopes.as_deref())
        .bind(outcome.failures)
        .bind(outcome.next_attempt_at.map(Timestamp::unix_millis))
        .bind(now.unix_millis())
        .bind(connection_id)
        .bind(owner)
        .bind(outcome.error.as_deref())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(sealed) = &outcome.credentials {
            sqlx::query(
                "UPDATE sealed_secrets SET key_id = $1, blob = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(sealed.blob.key_id())
            .bind(sealed.blob.as_bytes())
            .bind(now.unix_millis())
            .bind(&sealed.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// OAuth connections expiring before `horizon` (or already expired) whose token is past half its
    /// lifetime (when known: issued + expiry < 2 × now), not failed, whose backoff has passed, soonest
    /// first. The half-life condition is the broker's margin rule (`oauth::refresh::due`), so a sweep never
    /// picks a token that was just issued, however short-lived.
    pub async fn connections_due_for_refresh(
        &self,
        horizon: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueConnection>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, project_id, environment FROM connections \
             WHERE oauth_expires_at IS NOT NULL AND oauth_expires_at < $1 AND state <> 'failed' AND active = 1 \
             AND (oauth_issued_at IS NULL OR oauth_issued_at + oauth_expires_at <= $4) \
             AND (refresh_next_at IS NULL OR refresh_next_at <= $2) \
             AND (refresh_lease_until IS NULL OR refresh_lease_until < $2) \
             ORDER BY oauth_expires_at LIMIT $3",
        )
        .bind(horizon.unix_millis())
        .bind(now.unix_millis())
        .bind(i64::from(limit))
        .bind(now.unix_millis().saturating_mul(2))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let env: String = row.try_get("environment")?;
                Ok(DueConnection {
                    id: row.try_get("id")?,
                    project_id: ProjectId::from_trusted(row.try_get("project_id")?),
                    environment: env
                        .parse()
                        .map_err(|_| StoreError::Corrupt("environment".into()))?,
                })
            })
            .collect()
    }

    /// The refresh bookkeeping of a connection: (failures, next attempt).
    pub async fn refresh_backoff(
        &self,
        connection_id: &str,
    ) -> Result<(i64, Option<Timestamp>), StoreError> {
        let row =
            sqlx::query("SELECT refresh_failures, refresh_next_at FROM connections WHERE id = $1")
                .bind(connection_id)
                .fetch_optional(self.pool())
                .await?;
        match row {
            None => Ok((0, None)),
            Some(row) => Ok((
                row.try_get("refresh_failures")?,
                row.try_get::<Option<i64>, _>("refresh_next_at")?
                    .map(Timestamp::from_unix_millis),
            )),
        }
    }
}
