//! Passwords: Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane: the crate's defaults), hashed
//! and verified on the blocking pool, at most two at a time (each takes ~19 MiB and tens of
//! milliseconds). An account without a password, or none at all, is verified against a dummy hash so
//! every sign-in does the same work.

use std::sync::LazyLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

use crate::error::BrokerError;
use crate::operators::AccountError;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 256;

static PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A hash of a random password nobody knows, verified when there is no real hash to check.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let random = keyway_crypto::random::hex::<16>();
    Argon2::default()
        .hash_password(random.as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Refuses passwords a person should not choose: shorter than 12 or longer than 256 characters, or
/// the account's own email.
pub fn check_policy(password: &SecretString, email: &str) -> Result<(), AccountError> {
    let p = password.expose_secret();
    let chars = p.chars().count();
    if chars < MIN_CHARS {
        return Err(AccountError::WeakPassword(format!(
            "Choose a password of at least {MIN_CHARS} characters; a few words make a good one."
        )));
    }
    if chars > MAX_CHARS {
        return Err(AccountError::WeakPassword(format!(
            "A password is at most {MAX_CHARS} characters."
        )));
    }
    if p.trim().eq_ignore_ascii_case(email) {
        return Err(AccountError::WeakPassword(
            "Your password must not be your email address.".into(),
        ));
    }
    Ok(())
}

/// The Argon2id PHC string of `password`.
pub async fn hash(password: SecretString) -> Result<String, BrokerError> {
    let _permit = PERMITS.acquire().await;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| BrokerError::InvalidInput(format!("password hashing stopped: {e}")))?
    .map_err(|e| BrokerError::InvalidInput(format!("password hashing failed: {e}")))
}

/// True when `password` matches `stored`; with no stored hash, does the same work and says false.
pub async fn verify(password: SecretString, stored: Option<String>) -> bool {
    let _permit = PERMITS.acquire().await;
    let real = stored.is_some();
    let hash = stored.unwrap_or_else(|| DUMMY.clone());
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
        && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_argon2id() {
        let h = hash(SecretString::from("correct horse battery"))
            .await
            .expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(SecretString::from("correct horse battery"), Some(h.clone())).await);
        assert!(!verify(SecretString::from("correct horse batterx"), Some(h)).await);
        assert!(!verify(SecretString::from("anything"), None).await);
    }

    #[test]
    fn policy_refuses_short_long_and_email() {
        let ok = |p: &str| check_policy(&SecretString::from(p), "ada@example.com");
        assert!(ok("twelve chars").is_ok());
        assert!(ok("eleven char").is_err());
        assert!(ok(&"x".repeat(257)).is_err());
        assert!(ok("ADA@example.com").is_err());
    }
}
