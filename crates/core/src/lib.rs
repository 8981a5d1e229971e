//! Keyway's domain vocabulary, shared by every other crate.
//! Invariant: this crate does no IO (no files, network, clock reads outside `now()` helpers, or SQL).

pub mod audit;
pub mod connection;
pub mod environment;
pub mod error_chain;
pub mod id;
pub mod identity;
pub mod operator;
pub mod project;
pub mod secret_key;
pub mod timestamp;
