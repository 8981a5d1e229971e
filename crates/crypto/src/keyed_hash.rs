//! Keyed hashes (HMAC-SHA-256 with a server pepper) for high-entropy tokens such as secret keys:
//! the store keeps only the hash, and a database dump alone cannot confirm a guessed key.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub struct KeyedHasher {
    /// The HMAC keyed with the pepper, ready to clone: keying hashes a block for each of the inner and
    /// outer pads, which every hash would otherwise repeat. It holds only those two hash states, not the
    /// pepper, and lives as long as the process.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHasher([redacted])")
    }
}

impl KeyedHasher {
    pub fn new(pepper: SecretSlice<u8>) -> Self {
        Self {
            keyed: <Hmac<Sha256> as Mac>::new_from_slice(pepper.expose_secret())
                .expect("HMAC accepts any key length"),
        }
    }

    /// Lowercase hex HMAC-SHA-256 of `value` under the pepper, with a domain label.
    pub fn hash(&self, domain: &str, value: &[u8]) -> String {
        hex::encode(self.digest(domain, value))
    }

    /// The same HMAC as raw bytes (what [`Self::hash`] hex-encodes): a map key that costs no allocation.
    pub fn digest(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(domain.as_bytes());
        mac.update(b"\0");
        mac.update(value);
        mac.finalize().into_bytes().into()
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

    /// Every hash starts from the same keyed state: equal to HMAC keyed afresh, and unaffected by the
    /// hashes before it.
    #[test]
    fn digest_is_hmac_of_domain_nul_value() {
        let hasher = KeyedHasher::new(SecretSlice::from(vec![7u8; 40]));
        let fresh = |data: &[u8]| -> [u8; 32] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[7u8; 40]).expect("key");
            mac.update(data);
            mac.finalize().into_bytes().into()
        };
        let first = hasher.digest("secret-key", b"sk_test_a");
        let second = hasher.digest("secret-key", b"sk_test_b");
        assert_eq!(first, fresh(b"secret-key\0sk_test_a"));
        assert_eq!(second, fresh(b"secret-key\0sk_test_b"));
        assert_eq!(hasher.digest("secret-key", b"sk_test_a"), first);
        assert_eq!(hasher.hash("secret-key", b"sk_test_a"), hex::encode(first));
    }
}
