//! Keyed hashes (HMAC-SHA-256 with a server pepper) for high-entropy tokens such as secret keys:
//! the store keeps only the hash, and a database dump alone cannot confirm a guessed key.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub struct KeyedHasher {
    pepper: SecretSlice<u8>,
}

impl std::fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHasher([redacted])")
    }
}

impl KeyedHasher {
    pub fn new(pepper: SecretSlice<u8>) -> Self {
        Self { pepper }
    }

    /// Lowercase hex HMAC-SHA-256 of `value` under the pepper, with a domain label.
    pub fn hash(&self, domain: &str, value: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.pepper.expose_secret())
            .expect("HMAC accepts any key length");
        mac.update(domain.as_bytes());
        mac.update(b"\0");
        mac.update(value);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Constant-time comparison of a presented value against a stored hash.
    pub fn verify(&self, domain: &str, value: &[u8], stored_hash: &str) -> bool {
        self.hash(domain, value)
            .as_bytes()
            .ct_eq(stored_hash.as_bytes())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_pepper_domain_and_value() {
        let a = KeyedHasher::new(SecretSlice::from(vec![1u8; 32]));
        let b = KeyedHasher::new(SecretSlice::from(vec![2u8; 32]));
        let h = a.hash("secret-key", b"sk_test_x");
        assert_eq!(h.len(), 64);
        assert_ne!(h, b.hash("secret-key", b"sk_test_x"));
        assert_ne!(h, a.hash("authkit-token", b"sk_test_x"));
        assert!(a.verify("secret-key", b"sk_test_x", &h));
        assert!(!a.verify("secret-key", b"sk_test_y", &h));
    }
}
