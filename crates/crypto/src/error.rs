//! Why a crypto operation failed. Messages never contain key material.

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("master key must be 32 bytes encoded as base64 (generate one with `keyway master-key generate`): {0}")]
    InvalidMasterKey(String),
    #[error("the keyring is empty: configure at least one master key")]
    EmptyKeyring,
    #[error("sealed value uses master key {0}, which is not in the configured keyring")]
    UnknownKeyId(String),
    #[error("sealed value is malformed")]
    MalformedBlob,
    #[error("sealed value failed to open: wrong key or it belongs to another record")]
    OpenFailed,
}
