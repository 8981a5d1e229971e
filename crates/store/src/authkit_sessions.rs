//! AuthKit sessions: short-lived tokens bound to (project, environment, identity, identityType), stored as
//! keyed hashes. Expired rows are never returned, and are purged opportunistically.

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::timestamp::Timestamp;
use sqlx::Row;

use crate::error::StoreError;
use crate::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthkitSession {
    pub id: String,
    pub project_id: ProjectId,
    pub environment: Environment,
    pub identity: Identity,
    pub identity_type: IdentityType,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Store {
    pub async fn insert_authkit_session(
        &self,
        s: &AuthkitSession,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO authkit_sessions (id, token_hash, project_id, environment, identity, identity_type, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.id)
        .bind(token_hash)
        .bind(s.project_id.as_str())
        .bind(s.environment.as_str())
        .bind(s.identity.as_str())
        .bind(s.identity_type.as_str())
        .bind(s.created_at.unix_millis())
        .bind(s.expires_at.unix_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The live session with this token hash; `None` when unknown or expired at `now`.
    pub async fn authkit_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<AuthkitSession>, StoreError> {
        let row = sqlx::query(
            "SELECT id, project_id, environment, identity, identity_type, created_at, expires_at \
             FROM authkit_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now.unix_millis())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let corrupt = |what: &str| StoreError::Corrupt(format!("authkit session {what}"));
        let environment: String = row.try_get("environment")?;
        let identity: String = row.try_get("identity")?;
        let identity_type: String = row.try_get("identity_type")?;
        Ok(Some(AuthkitSession {
            id: row.try_get("id")?,
            project_id: ProjectId::from_trusted(row.try_get("project_id")?),
            environment: environment.parse().map_err(|_| corrupt("environment"))?,
            identity: Identity::parse(&identity).map_err(|_| corrupt("identity"))?,
            identity_type: identity_type
                .parse()
                .map_err(|_| corrupt("identity type"))?,
            created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
            expires_at: Timestamp::from_unix_millis(row.try_get("expires_at")?),
        }))
    }

    /// Deletes sessions that expired before `before`. Returns how many.
    pub async fn purge_authkit_sessions(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM authkit_sessions WHERE expires_at < $1")
            .bind(before.unix_millis())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
