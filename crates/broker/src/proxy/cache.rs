//! The hot path's memory: a connection found by its key, with its opened credentials, kept for a short
//! time so a passthrough request does no database round trip. Entries expire (TTL) and are dropped at once
//! when this node changes the connection (tags, delete, refresh); other nodes see changes within the TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyway_core::connection::Connection;
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;

use crate::credentials::Credentials;

pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug)]
pub struct Resolved {
    pub connection: Connection,
    pub credentials: Credentials,
    /// Base URL and rendered credentials, so requests only join paths and copy headers.
    pub injected: Injected,
}

/// What every request of a connection gets: its base URL and credential headers/query.
/// Header values are marked sensitive (redacted in `Debug`); the query form is kept out of `Debug`.
pub struct Injected {
    /// The platform's base URL for this connection, parsed once.
    pub base: url::Url,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub query: Option<String>,
    pub internal: bool,
    pub platform_name: String,
}

impl std::fmt::Debug for Injected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injected")
            .field("base", &self.base.as_str())
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("query", &self.query.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

type Key = (ProjectId, Environment, String);

#[derive(Debug, Default)]
pub struct ConnectionCache {
    entries: Mutex<HashMap<Key, (Instant, Arc<Resolved>)>>,
}

impl ConnectionCache {
    pub fn get(&self, project: &ProjectId, env: Environment, key: &str) -> Option<Arc<Resolved>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&(project.clone(), env, key.to_owned()))
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, r)| r.clone())
    }

    pub fn put(&self, resolved: Arc<Resolved>) {
        let c = &resolved.connection;
        let key = (c.project_id.clone(), c.environment, c.key.to_string());
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), resolved));
    }

    pub fn invalidate(&self, connection_id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (_, r)| r.connection.id != connection_id);
    }
}
