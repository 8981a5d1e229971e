//! Envelope sealing: each value gets a fresh AES-256-GCM data key, wrapped by the primary master key.
//! Both layers authenticate the `Aad` naming the record a value belongs to, so a blob copied to another
//! row fails to open. Rotation re-wraps only the data key; the ciphertext is untouched.
//!
//! Blob layout: `0x01 | key id (16 ascii) | wrap nonce (12) | wrapped data key (48) | nonce (12) | ciphertext`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use secrecy::SecretSlice;
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::keyring::Keyring;
use crate::master_key::{MasterKey, KEY_ID_LEN};
use crate::random;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const WRAPPED_LEN: usize = 32 + 16;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN + WRAPPED_LEN + NONCE_LEN;

/// What a sealed value is bound to: purpose, project and record ids. Written once per call site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aad(String);

impl Aad {
    /// `purpose` names the kind of secret (`connection.credentials`), `scope` its project (or `server`),
    /// `record` the row it lives in.
    pub fn new(purpose: &str, scope: &str, record: &str) -> Self {
        Self(format!("keyway/v1|{purpose}|{scope}|{record}"))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A sealed value as stored. Opaque bytes plus the id of the master key that wraps it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedBlob(Vec<u8>);

impl std::fmt::Debug for SealedBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedBlob({} bytes, key {})",
            self.0.len(),
            self.key_id()
        )
    }
}

impl SealedBlob {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        let well_formed = bytes.len() >= HEADER_LEN + 16
            && bytes[0] == VERSION
            && bytes[1..1 + KEY_ID_LEN].iter().all(u8::is_ascii_hexdigit);
        if well_formed {
            Ok(Self(bytes))
        } else {
            Err(CryptoError::MalformedBlob)
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn key_id(&self) -> &str {
        std::str::from_utf8(&self.0[1..1 + KEY_ID_LEN]).unwrap_or("")
    }

    fn parts(&self) -> (&[u8], &[u8], &[u8], &[u8]) {
        let rest = &self.0[1 + KEY_ID_LEN..];
        let (wrap_nonce, rest) = rest.split_at(NONCE_LEN);
        let (wrapped, rest) = rest.split_at(WRAPPED_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        (wrap_nonce, wrapped, nonce, ciphertext)
    }
}

pub fn seal(keyring: &Keyring, aad: &Aad, plaintext: &[u8]) -> SealedBlob {
    let data_key = Zeroizing::new(random::bytes::<32>());
    let nonce = random::bytes::<NONCE_LEN>();
    let ciphertext = cipher(&data_key)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: aad.bytes(),
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    assemble(keyring.primary(), aad, &data_key, &nonce, &ciphertext)
}

pub fn open(
    keyring: &Keyring,
    aad: &Aad,
    blob: &SealedBlob,
) -> Result<SecretSlice<u8>, CryptoError> {
    let (_, _, nonce, ciphertext) = blob.parts();
    let data_key = unwrap_data_key(keyring, aad, blob)?;
    let plaintext = cipher(&data_key)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: aad.bytes(),
            },
        )
        .map_err(|_| CryptoError::OpenFailed)?;
    Ok(SecretSlice::from(plaintext))
}

/// Re-wraps the value's data key under the primary key. Fails exactly when `open` would.
pub fn rewrap(keyring: &Keyring, aad: &Aad, blob: &SealedBlob) -> Result<SealedBlob, CryptoError> {
    // Prove the whole value opens before replacing its wrapping.
    open(keyring, aad, blob)?;
    let data_key = unwrap_data_key(keyring, aad, blob)?;
    let (_, _, nonce, ciphertext) = blob.parts();
    Ok(assemble(
        keyring.primary(),
        aad,
        &data_key,
        nonce,
        ciphertext,
    ))
}

fn assemble(
    master: &MasterKey,
    aad: &Aad,
    data_key: &[u8; 32],
    nonce: &[u8],
    ciphertext: &[u8],
) -> SealedBlob {
    let wrap_nonce = random::bytes::<NONCE_LEN>();
    let wrap_aad = wrap_aad(master.id(), aad);
    let wrapped = cipher(master.bytes())
        .encrypt(
            Nonce::from_slice(&wrap_nonce),
            Payload {
                msg: data_key,
                aad: &wrap_aad,
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.push(VERSION);
    out.extend_from_slice(master.id().as_bytes());
    out.extend_from_slice(&wrap_nonce);
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(nonce);
    out.extend_from_slice(ciphertext);
    SealedBlob(out)
}

fn unwrap_data_key(
    keyring: &Keyring,
    aad: &Aad,
    blob: &SealedBlob,
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let key_id = blob.key_id();
    let master = keyring
        .get(key_id)
        .ok_or_else(|| CryptoError::UnknownKeyId(key_id.to_owned()))?;
    let (wrap_nonce, wrapped, _, _) = blob.parts();
    let raw = Zeroizing::new(
        cipher(master.bytes())
            .decrypt(
                Nonce::from_slice(wrap_nonce),
                Payload {
                    msg: wrapped,
                    aad: &wrap_aad(key_id, aad),
                },
            )
            .map_err(|_| CryptoError::OpenFailed)?,
    );
    let key: [u8; 32] = raw
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::MalformedBlob)?;
    Ok(Zeroizing::new(key))
}

fn wrap_aad(key_id: &str, aad: &Aad) -> Vec<u8> {
    [b"dek|".as_slice(), key_id.as_bytes(), b"|", aad.bytes()].concat()
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn ring(keys: Vec<MasterKey>) -> Keyring {
        Keyring::new(keys).expect("non-empty")
    }

    #[test]
    fn seal_then_open_round_trips() {
        let r = ring(vec![MasterKey::generate()]);
        let aad = Aad::new("connection.credentials", "prj_1", "conn_1");
        let blob = seal(&r, &aad, b"{\"apiKey\":\"sk-123\"}");
        assert_eq!(blob.key_id(), r.primary().id());
        assert!(!blob.as_bytes().windows(6).any(|w| w == b"sk-123"));
        let opened = open(&r, &aad, &blob).expect("opens");
        assert_eq!(opened.expose_secret(), b"{\"apiKey\":\"sk-123\"}");
    }

    #[test]
    fn blob_moved_to_another_record_fails_to_open() {
        let r = ring(vec![MasterKey::generate()]);
        let blob = seal(&r, &Aad::new("p", "prj_1", "conn_1"), b"secret");
        for other in [
            Aad::new("p", "prj_1", "conn_2"),
            Aad::new("p", "prj_2", "conn_1"),
            Aad::new("q", "prj_1", "conn_1"),
        ] {
            assert!(matches!(
                open(&r, &other, &blob),
                Err(CryptoError::OpenFailed)
            ));
        }
    }

    #[test]
    fn wrong_key_and_tampering_are_detected() {
        let aad = Aad::new("p", "s", "r");
        let blob = seal(&ring(vec![MasterKey::generate()]), &aad, b"secret");
        let stranger = ring(vec![MasterKey::generate()]);
        assert!(matches!(
            open(&stranger, &aad, &blob),
            Err(CryptoError::UnknownKeyId(_))
        ));

        let r = ring(vec![MasterKey::generate()]);
        let blob = seal(&r, &aad, b"secret");
        let mut bytes = blob.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = SealedBlob::from_bytes(bytes).expect("still well formed");
        assert!(matches!(
            open(&r, &aad, &tampered),
            Err(CryptoError::OpenFailed)
        ));
        assert!(SealedBlob::from_bytes(vec![1, 2, 3]).is_err());
    }

    #[test]
    fn rewrap_moves_to_the_primary_and_keeps_the_plaintext() {
        let old = MasterKey::generate();
        let old_id = old.id().to_owned();
        let aad = Aad::new("p", "s", "r");
        let blob = seal(
            &ring(vec![MasterKey::from_base64(
                old.to_base64().expose_secret(),
            )
            .expect("k")]),
            &aad,
            b"secret",
        );
        let new = MasterKey::generate();
        let new_id = new.id().to_owned();
        let both = ring(vec![new, old]);
        let rewrapped = rewrap(&both, &aad, &blob).expect("rewraps");
        assert_eq!(blob.key_id(), old_id);
        assert_eq!(rewrapped.key_id(), new_id);
        // Only the new key is needed afterwards.
        let new_only = ring(vec![MasterKey::from_base64(
            both.primary().to_base64().expose_secret(),
        )
        .expect("k")]);
        assert_eq!(
            open(&new_only, &aad, &rewrapped)
                .expect("opens")
                .expose_secret(),
            b"secret"
        );
        assert!(rewrap(&both, &Aad::new("p", "s", "other"), &blob).is_err());
    }
}
