//! Dashboard sessions: server-side rows keyed by a keyed hash of the cookie's token. A session is live
//! while both its absolute deadline and its idle deadline (`last_seen_at` + idle) are ahead.

use keyway_core::id::OperatorId;
use keyway_core::operator::Operator;
use keyway_core::timestamp::Timestamp;
use sqlx::Row;

use crate::error::StoreError;
use crate::operators::operator_from_row;
use crate::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSession {
    /// `dss_` + random hex: names the session in lists, never authenticates.
    pub id: String,
    pub operator_id: OperatorId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub client_address: Option<String>,
}

impl Store {
    pub async fn insert_dashboard_session(
        &self,
        s: &DashboardSession,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dashboard_sessions (token_hash, id, operator_id, created_at, last_seen_at, \
             expires_at, client_address) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_hash)
        .bind(&s.id)
        .bind(s.operator_id.as_str())
        .bind(s.created_at.unix_millis())
        .bind(s.last_seen_at.unix_millis())
        .bind(s.expires_at.unix_millis())
        .bind(s.client_address.as_deref())
        .execute(self.pool())
        .await?;
        // Keep the table to live sessions.
        sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at < $1")
            .bind(s.created_at.unix_millis())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The live session with this token hash and its account; `None` when unknown, expired or idle
    /// since before `idle_since`.
    pub async fn dashboard_session(
        &self,
        token_hash: &str,
        now: Timestamp,
        idle_since: Timestamp,
    ) -> Result<Option<(DashboardSession, Operator)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.id AS session_id, s.created_at AS session_created_at, s.last_seen_at AS last_seen_at, \
             s.expires_at AS expires_at, s.client_address AS client_address, \
             o.id AS id, o.email AS email, o.role AS role, o.password_hash AS password_hash, \
             o.created_at AS created_at, o.updated_at AS updated_at \
             FROM dashboard_sessions s JOIN operators o ON o.id = s.operator_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3",
        )
        .bind(token_hash)
        .bind(now.unix_millis())
        .bind(idle_since.unix_millis())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let operator = operator_from_row(&row)?;
        let session = DashboardSession {
            id: row.try_get("session_id")?,
            operator_id: operator.id.clone(),
            created_at: Timestamp::from_unix_millis(row.try_get("session_created_at")?),
            last_seen_at: Timestamp::from_unix_millis(row.try_get("last_seen_at")?),
            expires_at: Timestamp::from_unix_millis(row.try_get("expires_at")?),
            client_address: row.try_get("client_address")?,
        };
        Ok(Some((session, operator)))
    }

    /// Moves the idle deadline.
    pub async fn touch_dashboard_session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE dashboard_sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now.unix_millis())
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a session. True when it existed.
    pub async fn delete_dashboard_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM dashboard_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
