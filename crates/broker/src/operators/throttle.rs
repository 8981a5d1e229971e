//! Sign-in throttling, per account (a keyed hash of the email as typed, known account or not) and per
//! client address, shared by every node through the database. The first `FREE_FAILURES` failures cost
//! nothing; each one after blocks the subject for twice as long as the one before (1 s, 2 s, 4 s, …, at
//! most 15 minutes). Failures are forgotten an hour after the last one, and an account's on success.

use keyway_core::timestamp::Timestamp;

use crate::error::BrokerError;
use crate::Broker;

pub const FREE_FAILURES: i64 = 10;
pub const MAX_BLOCK_SECONDS: i64 = 15 * 60;
pub const FORGET_AFTER_SECONDS: i64 = 60 * 60;

/// The throttled subjects of one attempt.
pub struct Subjects {
    pub account: String,
    pub address: Option<String>,
}

impl Subjects {
    fn all(&self) -> Vec<&str> {
        std::iter::once(self.account.as_str())
            .chain(self.address.as_deref())
            .collect()
    }
}

/// How long the `failures`-th failure blocks.
pub fn block_seconds(failures: i64) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(20) as u32;
    (1i64 << doublings).min(MAX_BLOCK_SECONDS)
}

impl Broker {
    pub(crate) fn throttle_subjects(
        &self,
        email_as_typed: &str,
        address: Option<&str>,
    ) -> Subjects {
        let typed = email_as_typed.trim().to_lowercase();
        Subjects {
            account: format!(
                "email:{}",
                self.hasher.hash("sign-in-email", typed.as_bytes())
            ),
            address: address.map(|a| format!("address:{a}")),
        }
    }

    /// Seconds to wait when any subject is blocked now.
    pub(crate) async fn throttled_for(&self, s: &Subjects) -> Result<Option<u64>, BrokerError> {
        let now = Timestamp::now();
        Ok(self
            .store
            .sign_in_blocked_until(&s.all(), now)
            .await?
            .map(|until| {
                let ms = until.unix_millis() - now.unix_millis();
                u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
            }))
    }

    pub(crate) async fn count_failure(&self, s: &Subjects) -> Result<(), BrokerError> {
        let now = Timestamp::now();
        let forget_before = now.plus_seconds(-FORGET_AFTER_SECONDS);
        for subject in s.all() {
            let failures = self
                .store
                .count_sign_in_failure(subject, now, forget_before)
                .await?;
            let block = block_seconds(failures);
            if block > 0 {
                self.store
                    .block_sign_in(subject, now.plus_seconds(block))
                    .await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn forget_failures(&self, s: &Subjects) -> Result<(), BrokerError> {
        Ok(self.store.clear_sign_in_failures(&s.account).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_double_after_the_free_failures_up_to_a_cap() {
        assert_eq!(block_seconds(1), 0);
        assert_eq!(block_seconds(FREE_FAILURES - 1), 0);
        assert_eq!(block_seconds(FREE_FAILURES), 1);
        assert_eq!(block_seconds(FREE_FAILURES + 3), 8);
        assert_eq!(block_seconds(FREE_FAILURES + 40), MAX_BLOCK_SECONDS);
    }
}
