//! Sealed secrets: every encrypted value Keyway keeps lives in this one table, so rotation and the
//! start-up key check cover all of them. The store sees only `SealedBlob`s; the row id, scope and purpose
//! are what the blob's AAD is bound to.

use keyway_core::timestamp::Timestamp;
use keyway_crypto::envelope::SealedBlob;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StoreError;
use crate::Store;

#[derive(Debug, Clone)]
pub struct SealedRow {
    /// Unique name of the value, e.g. `conn_…/credentials`.
    pub id: String,
    /// The project it belongs to, or `server` for server-wide secrets.
    pub scope: String,
    /// What kind of secret it is, e.g. `connection.credentials`.
    pub purpose: String,
    pub blob: SealedBlob,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    pub key_id: String,
    pub rows: i64,
}

const COLUMNS: &str = "id, scope, purpose, blob";

impl Store {
    /// Inserts unless a row with this id exists. True when this call inserted it.
    pub async fn insert_sealed_if_absent(
        &self,
        row: &SealedRow,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO sealed_secrets (id, scope, purpose, key_id, blob, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&row.id)
        .bind(&row.scope)
        .bind(&row.purpose)
        .bind(row.blob.key_id())
        .bind(row.blob.as_bytes())
        .bind(at.unix_millis())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Inserts or replaces the value with this id.
    pub async fn put_sealed(&self, row: &SealedRow, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sealed_secrets (id, scope, purpose, key_id, blob, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, purpose = excluded.purpose, \
             key_id = excluded.key_id, blob = excluded.blob, updated_at = excluded.updated_at",
        )
        .bind(&row.id)
        .bind(&row.scope)
        .bind(&row.purpose)
        .bind(row.blob.key_id())
        .bind(row.blob.as_bytes())
        .bind(at.unix_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn sealed(&self, id: &str) -> Result<Option<SealedRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sealed_secrets WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(sealed_from_row).transpose()
    }

    pub async fn delete_sealed(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sealed_secrets WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many sealed values each master key wraps.
    pub async fn sealed_key_usage(&self) -> Result<Vec<KeyUsage>, StoreError> {
        let rows = sqlx::query(
            "SELECT key_id, COUNT(*) AS n FROM sealed_secrets GROUP BY key_id ORDER BY key_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyUsage {
                    key_id: row.try_get("key_id")?,
                    rows: row.try_get("n")?,
                })
            })
            .collect()
    }

    /// A page of values not wrapped by `key_id`, in id order after `after`: the work list of a rotation.
    pub async fn sealed_not_under(
        &self,
        key_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<SealedRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sealed_secrets WHERE key_id <> $1 AND id > $2 ORDER BY id LIMIT $3");
        let rows = sqlx::query(&sql)
            .bind(key_id)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(sealed_from_row).collect()
    }

    /// Replaces a value's blob only if it is still the one the caller read (compare-and-swap), so a
    /// rotation never overwrites a value that was re-sealed meanwhile. True when replaced.
    pub async fn replace_sealed_blob(
        &self,
        id: &str,
        expected: &SealedBlob,
        replacement: &SealedBlob,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sealed_secrets SET key_id = $1, blob = $2, updated_at = $3 WHERE id = $4 AND blob = $5",
        )
        .bind(replacement.key_id())
        .bind(replacement.as_bytes())
        .bind(at.unix_millis())
        .bind(id)
        .bind(expected.as_bytes())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn sealed_from_row(row: &AnyRow) -> Result<SealedRow, StoreError> {
    let bytes: Vec<u8> = row.try_get("blob")?;
    let id: String = row.try_get("id")?;
    Ok(SealedRow {
        blob: SealedBlob::from_bytes(bytes)
            .map_err(|_| StoreError::Corrupt(format!("sealed value {id} is malformed")))?,
        scope: row.try_get("scope")?,
        purpose: row.try_get("purpose")?,
        id,
    })
}
