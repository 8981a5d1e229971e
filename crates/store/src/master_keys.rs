//! Fingerprints of the master keys this database has been sealed with, so a server started with the
//! wrong key can refuse before touching anything.

use keyway_core::timestamp::Timestamp;
use sqlx::Row;

use crate::error::StoreError;
use crate::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownMasterKey {
    pub key_id: String,
    pub fingerprint: String,
    pub added_at: Timestamp,
}

impl Store {
    pub async fn known_master_keys(&self) -> Result<Vec<KnownMasterKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT key_id, fingerprint, added_at FROM master_keys ORDER BY added_at, key_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KnownMasterKey {
                    key_id: row.try_get("key_id")?,
                    fingerprint: row.try_get("fingerprint")?,
                    added_at: Timestamp::from_unix_millis(row.try_get("added_at")?),
                })
            })
            .collect()
    }

    /// Records a key's fingerprint; a no-op when it is already known (nodes may race here).
    pub async fn remember_master_key(
        &self,
        key_id: &str,
        fingerprint: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO master_keys (key_id, fingerprint, added_at) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(key_id)
        .bind(fingerprint)
        .bind(at.unix_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Forgets keys, other than `primary`, that no sealed value uses any more (after a completed rotation).
    pub async fn forget_unused_master_keys(&self, primary: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM master_keys WHERE key_id <> $1 AND NOT EXISTS \
             (SELECT 1 FROM sealed_secrets s WHERE s.key_id = master_keys.key_id)",
        )
        .bind(primary)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
