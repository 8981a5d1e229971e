//! Sign-in throttling shared by every node: failures per subject (a keyed hash of the email as typed, or
//! a client address), and until when the subject is blocked. The policy (how long a block lasts) is the
//! broker's; this counts atomically.

use keyway_core::timestamp::Timestamp;
use sqlx::Row;

use crate::error::StoreError;
use crate::Store;

impl Store {
    /// The latest `blocked_until` among `subjects`, if any is blocked at `now`.
    pub async fn sign_in_blocked_until(
        &self,
        subjects: &[&str],
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let mut latest: Option<Timestamp> = None;
        for subject in subjects {
            let row = sqlx::query(
                "SELECT blocked_until FROM sign_in_throttle WHERE subject = $1 AND blocked_until > $2",
            )
            .bind(*subject)
            .bind(now.unix_millis())
            .fetch_optional(self.pool())
            .await?;
            if let Some(row) = row {
                let until = Timestamp::from_unix_millis(row.try_get("blocked_until")?);
                latest = Some(latest.map_or(until, |l| l.max(until)));
            }
        }
        Ok(latest)
    }

    /// Counts a failure for `subject` (starting over when the last one was before `forget_before`), and
    /// returns the failures counted so far.
    pub async fn count_sign_in_failure(
        &self,
        subject: &str,
        now: Timestamp,
        forget_before: Timestamp,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO sign_in_throttle (subject, failures, last_failure_at, blocked_until) \
             VALUES ($1, 1, $2, 0) \
             ON CONFLICT (subject) DO UPDATE SET \
             failures = CASE WHEN sign_in_throttle.last_failure_at < $3 THEN 1 ELSE sign_in_throttle.failures + 1 END, \
             last_failure_at = excluded.last_failure_at \
             RETURNING failures",
        )
        .bind(subject)
        .bind(now.unix_millis())
        .bind(forget_before.unix_millis())
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("failures")?)
    }

    /// Blocks `subject` until `until`.
    pub async fn block_sign_in(&self, subject: &str, until: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE sign_in_throttle SET blocked_until = $1 WHERE subject = $2")
            .bind(until.unix_millis())
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets a subject's failures (after a successful sign-in).
    pub async fn clear_sign_in_failures(&self, subject: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_throttle WHERE subject = $1")
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
