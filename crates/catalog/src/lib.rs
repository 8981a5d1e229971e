//! Keyway's platform catalog: one reviewed TOML file per platform (`catalog/platforms/<slug>.toml`)
//! plus a logo each, compiled into the binary and optionally extended from a custom folder.
//!
//! Invariant: a [`platform::Platform`] can only be obtained by passing every check in [`check`],
//! so code holding one never re-validates it. This crate does no network IO.

pub mod actions;
pub mod auth;
pub mod check;
pub mod error;
pub mod field;
pub mod inject;
pub mod load;
pub mod logo;
pub mod openapi;
pub mod platform;
pub mod slug;
pub mod template;
pub mod test_request;
pub mod url_template;

mod file;
mod source;
