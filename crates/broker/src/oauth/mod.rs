//! The OAuth engine: authorization (state, PKCE, callback, code exchange), token requests shaped by the
//! catalog, and single-flight refresh — on demand before use, and by a background sweep.
//! Invariants: `redirect_uri` comes from configuration only; a state is single-use and bound to its
//! session and platform; at most one refresh per connection runs at a time across all nodes.

pub mod authorize;
pub mod client;
pub mod refresh;
pub mod sweep;
pub mod token;
