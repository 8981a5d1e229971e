//! Secret keys, stored only as a keyed hash plus a display hint. Lookup is by hash (an index probe);
//! the caller compares in constant time.

use keyway_core::audit::AuditEvent;
use keyway_core::environment::Environment;
use keyway_core::id::{ProjectId, SecretKeyId};
use keyway_core::project::{ProjectSettings, SecretKeyRecord};
use keyway_core::timestamp::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::audit::insert_audit;
use crate::error::StoreError;
use crate::Store;

/// A key about to be stored: its record and keyed hash, never the key.
#[derive(Debug, Clone)]
pub struct NewSecretKey {
    pub record: SecretKeyRecord,
    pub key_hash: String,
}

/// A stored key with its hash, for constant-time verification by the caller.
#[derive(Debug, Clone)]
pub struct StoredSecretKey {
    pub record: SecretKeyRecord,
    pub key_hash: String,
}

const COLUMNS: &str =
    "id, project_id, environment, key_hash, hint, name, created_at, revoked_at, last_used_at";

impl Store {
    pub async fn insert_secret_key(
        &self,
        key: &NewSecretKey,
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        insert_key(&mut tx, key).await?;
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn secret_key_by_hash(
        &self,
        key_hash: &str,
    ) -> Result<Option<StoredSecretKey>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM secret_keys WHERE key_hash = $1");
        let row = sqlx::query(&sql)
            .bind(key_hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(stored_from_row).transpose()
    }

    /// The key and its environment's settings in one statement: what authenticating a request needs.
    pub async fn secret_key_with_settings(
        &self,
        key_hash: &str,
    ) -> Result<Option<(StoredSecretKey, ProjectSettings)>, StoreError> {
        let row = sqlx::query(
            "SELECT k.id AS id, k.project_id AS project_id, k.environment AS environment, \
             k.key_hash AS key_hash, k.hint AS hint, k.name AS name, k.created_at AS created_at, \
             k.revoked_at AS revoked_at, k.last_used_at AS last_used_at, \
             s.require_action_ids AS require_action_ids \
             FROM secret_keys k LEFT JOIN project_settings s \
             ON s.project_id = k.project_id AND s.environment = k.environment \
             WHERE k.key_hash = $1",
        )
        .bind(key_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let settings = ProjectSettings {
            require_action_ids: row
                .try_get::<Option<i64>, _>("require_action_ids")?
                .is_some_and(|v| v != 0),
        };
        Ok(Some((stored_from_row(&row)?, settings)))
    }

    pub async fn list_secret_keys(
        &self,
        project: Option<&ProjectId>,
    ) -> Result<Vec<SecretKeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM secret_keys WHERE ($1 = '' OR project_id = $1) ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(project.map(ProjectId::as_str).unwrap_or(""))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| stored_from_row(r).map(|k| k.record))
            .collect()
    }

    /// Marks a key revoked. False when no unrevoked key has that id.
    pub async fn revoke_secret_key(
        &self,
        id: &SecretKeyId,
        at: Timestamp,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE secret_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at.unix_millis())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records that a key authenticated a request at `at` (callers throttle how often).
    pub async fn touch_secret_key(
        &self,
        id: &SecretKeyId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE secret_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(at.unix_millis())
        .bind(id.as_str())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

pub(crate) async fn insert_key(
    tx: &mut Transaction<'_, Any>,
    key: &NewSecretKey,
) -> Result<(), StoreError> {
    let r = &key.record;
    sqlx::query(
        "INSERT INTO secret_keys (id, project_id, environment, key_hash, hint, name, created_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.id.as_str())
    .bind(r.project_id.as_str())
    .bind(r.environment.as_str())
    .bind(&key.key_hash)
    .bind(&r.hint)
    .bind(r.name.as_deref())
    .bind(r.created_at.unix_millis())
    .bind(r.revoked_at.map(Timestamp::unix_millis))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn stored_from_row(row: &AnyRow) -> Result<StoredSecretKey, StoreError> {
    let environment: String = row.try_get("environment")?;
    Ok(StoredSecretKey {
        record: SecretKeyRecord {
            id: SecretKeyId::from_trusted(row.try_get("id")?),
            project_id: ProjectId::from_trusted(row.try_get("project_id")?),
            environment: environment
                .parse::<Environment>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            hint: row.try_get("hint")?,
            name: row.try_get("name")?,
            created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
            revoked_at: row
                .try_get::<Option<i64>, _>("revoked_at")?
                .map(Timestamp::from_unix_millis),
            last_used_at: row
                .try_get::<Option<i64>, _>("last_used_at")?
                .map(Timestamp::from_unix_millis),
        },
        key_hash: row.try_get("key_hash")?,
    })
}
