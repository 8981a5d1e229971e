//! Secret keys as presented by API callers: `sk_test_…` / `sk_live_…` followed by 40 base62 characters.
//! The random part is base62, so it can never contain `sk_live` (Pica's SDKs sniff the environment that way).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::environment::Environment;

pub const BODY_LEN: usize = 40;
pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A well-formed secret key. Redacted `Debug`, no `Serialize`, zeroized on drop.
pub struct SecretKey {
    environment: Environment,
    value: SecretString,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "malformed secret key: expected sk_test_ or sk_live_ followed by {BODY_LEN} letters and digits"
)]
pub struct MalformedSecretKey;

impl SecretKey {
    pub fn parse(presented: &str) -> Result<Self, MalformedSecretKey> {
        let (environment, body) = if let Some(body) = presented.strip_prefix("sk_test_") {
            (Environment::Test, body)
        } else if let Some(body) = presented.strip_prefix("sk_live_") {
            (Environment::Live, body)
        } else {
            return Err(MalformedSecretKey);
        };
        if body.len() != BODY_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MalformedSecretKey);
        }
        Ok(Self {
            environment,
            value: SecretString::from(presented.to_owned()),
        })
    }

    /// Builds a key from `BODY_LEN` base62 characters chosen by the caller's CSPRNG.
    pub fn from_body(environment: Environment, body: &str) -> Result<Self, MalformedSecretKey> {
        Self::parse(&format!("sk_{}_{}", environment.as_str(), body))
    }

    pub fn environment(&self) -> Environment {
        self.environment
    }

    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }

    /// What listings show: the prefix and the last four characters, e.g. `sk_test_…Wx3z`.
    pub fn hint(&self) -> String {
        let v = self.expose();
        format!("sk_{}_…{}", self.environment.as_str(), &v[v.len() - 4..])
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, [redacted])", self.environment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "0123456789abcdefghijABCDEFGHIJ0123456789";

    #[test]
    fn parses_both_environments() {
        let k = SecretKey::parse(&format!("sk_live_{BODY}")).expect("valid");
        assert_eq!(k.environment(), Environment::Live);
        assert_eq!(k.hint(), "sk_live_…6789");
        let k = SecretKey::parse(&format!("sk_test_{BODY}")).expect("valid");
        assert_eq!(k.environment(), Environment::Test);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            String::new(),
            format!("sk_prod_{BODY}"),
            format!("sk_test_{}", &BODY[1..]),
            format!("sk_test_{BODY}x"),
            format!("sk_test_{}_", &BODY[1..]),
            format!("pk_test_{BODY}"),
        ] {
            assert!(SecretKey::parse(&bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let k = SecretKey::parse(&format!("sk_test_{BODY}")).expect("valid");
        let shown = format!("{k:?}");
        assert!(!shown.contains(BODY), "{shown}");
    }
}
