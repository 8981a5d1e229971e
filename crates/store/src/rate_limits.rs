//! Shared token buckets for per-secret-key rate limits. A node leases whole tokens from a key's bucket with
//! one atomic statement (refill by the time elapsed on the database's clock, capped at the burst, then take
//! up to the chunk asked for), so all nodes together never take more than burst + rate × elapsed.

use std::sync::LazyLock;

use sqlx::Row;

use crate::backend::Backend;
use crate::error::StoreError;
use crate::Store;

/// What one lease took from a shared bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLease {
    /// Whole tokens taken for the caller: from 0 to what it asked for.
    pub granted: u32,
    /// What the bucket holds after the lease, in thousandths of a token.
    pub milli_tokens_left: u64,
}

impl Store {
    /// Takes up to `want` whole tokens from the bucket of `key_id`, which starts full, refills `per_second`
    /// tokens a second and holds at most `burst`. Atomic under any number of concurrent callers: the upsert
    /// locks the row and computes from its latest version.
    pub async fn lease_rate_limit_tokens(
        &self,
        key_id: &str,
        per_second: u32,
        burst: u32,
        want: u32,
    ) -> Result<TokenLease, StoreError> {
        let sql: &str = match self.backend() {
            Backend::Sqlite => &SQLITE_LEASE,
            Backend::Postgres => &POSTGRES_LEASE,
        };
        let row = sqlx::query(sql)
            .bind(key_id)
            .bind(i64::from(per_second))
            .bind(i64::from(burst))
            .bind(i64::from(want))
            .fetch_one(self.pool())
            .await?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("rate limit bucket {what}"));
        let granted: i64 = row.try_get("granted")?;
        let left: i64 = row.try_get("milli_tokens")?;
        Ok(TokenLease {
            granted: u32::try_from(granted).map_err(|_| corrupt("grant"))?,
            milli_tokens_left: u64::try_from(left).map_err(|_| corrupt("tokens"))?,
        })
    }
}

/// $1 key, $2 tokens per second, $3 burst, $4 tokens wanted. Buckets count thousandths of a token, so a
/// refill of `elapsed ms × per_second` is exact in integers; elapsed is capped at an hour (more than any
/// bucket needs to fill) so the product cannot overflow. A clock that steps back refills nothing.
/// A new key's bucket starts full; `granted` keeps what the latest lease took so `RETURNING` can say it.
fn lease_statement(least: &str, greatest: &str, now: &str) -> String {
    let available = format!(
        "{least}(b.milli_tokens + {least}({greatest}(excluded.refilled_at - b.refilled_at, 0), 3600000) * $2, $3 * 1000)"
    );
    format!(
        "INSERT INTO rate_limits AS b (key_id, milli_tokens, refilled_at, granted) \
         VALUES ($1, ($3 - {least}($4, $3)) * 1000, {now}, {least}($4, $3)) \
         ON CONFLICT (key_id) DO UPDATE SET \
         granted = {least}($4, {available} / 1000), \
         milli_tokens = {available} - {least}($4, {available} / 1000) * 1000, \
         refilled_at = {greatest}(b.refilled_at, excluded.refilled_at) \
         RETURNING granted, milli_tokens"
    )
}

static POSTGRES_LEASE: LazyLock<String> = LazyLock::new(|| {
    lease_statement(
        "LEAST",
        "GREATEST",
        "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)",
    )
});

static SQLITE_LEASE: LazyLock<String> =
    LazyLock::new(|| lease_statement("MIN", "MAX", "CAST(unixepoch('subsec') * 1000 AS INTEGER)"));
