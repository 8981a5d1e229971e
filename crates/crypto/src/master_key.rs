//! One master key: 32 random bytes, known by an id derived from its fingerprint.
//! The fingerprint is an HMAC of a fixed label, so it identifies the key without revealing it.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::random;

const FINGERPRINT_LABEL: &[u8] = b"keyway/master-key-fingerprint/v1";
/// Length of a key id in hex characters (the fingerprint's prefix).
pub const KEY_ID_LEN: usize = 16;

pub struct MasterKey {
    key: Zeroizing<[u8; 32]>,
    fingerprint: String,
}

impl MasterKey {
    pub fn generate() -> Self {
        Self::from_bytes(random::bytes::<32>())
    }

    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        let raw = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| CryptoError::InvalidMasterKey("not valid base64".into()))?,
        );
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| {
            CryptoError::InvalidMasterKey(format!("decoded to {} bytes", raw.len()))
        })?;
        Ok(Self::from_bytes(bytes))
    }

    fn from_bytes(bytes: [u8; 32]) -> Self {
        let key = Zeroizing::new(bytes);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_slice())
            .expect("HMAC accepts any key length");
        mac.update(FINGERPRINT_LABEL);
        let fingerprint = hex::encode(mac.finalize().into_bytes());
        Self { key, fingerprint }
    }

    /// Base64 of the key, for writing a key file or printing once to the operator.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.key.as_slice()))
    }

    /// Short id stored next to every value sealed under this key.
    pub fn id(&self) -> &str {
        &self.fingerprint[..KEY_ID_LEN]
    }

    /// Full fingerprint, stored by the server to recognise its key at start.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, [redacted])", self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn base64_round_trip_keeps_identity() {
        let k = MasterKey::generate();
        let back = MasterKey::from_base64(k.to_base64().expose_secret()).expect("round trip");
        assert_eq!(k.fingerprint(), back.fingerprint());
        assert_eq!(k.id().len(), KEY_ID_LEN);
        assert_ne!(MasterKey::generate().id(), k.id());
    }

    #[test]
    fn rejects_wrong_length_and_garbage() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("!!!").is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let k = MasterKey::generate();
        let b64 = k.to_base64();
        assert!(!format!("{k:?}").contains(b64.expose_secret()));
    }
}
