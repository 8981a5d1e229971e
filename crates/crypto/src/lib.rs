//! Keyway's cryptography: a master-key keyring, envelope sealing bound to its row, keyed hashes.
//! Invariant: no IO and no storage knowledge; plaintext secrets only leave as redacted `secrecy` types.

pub mod envelope;
pub mod error;
pub mod keyed_hash;
pub mod keyring;
pub mod master_key;
pub mod random;
