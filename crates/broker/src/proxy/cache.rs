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
    pub base: super::target::Base,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub query: Option<String>,
    pub internal: bool,
    pub platform_name: String,
}

impl std::fmt::Debug for Injected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injected")
            .field("base", &self.base.url().as_str())
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

/// Entries by connection key; an entry answers only for its own project and environment, so a lookup
/// borrows the caller's key and allocates nothing.
#[derive(Debug, Default)]
pub struct ConnectionCache {
    entries: Mutex<HashMap<String, (Instant, Arc<Resolved>)>>,
}

impl ConnectionCache {
    pub fn get(&self, project: &ProjectId, env: Environment, key: &str) -> Option<Arc<Resolved>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, r)| {
                at.elapsed() < TTL
                    && r.connection.project_id == *project
                    && r.connection.environment == env
            })
            .map(|(_, r)| r.clone())
    }

    pub fn put(&self, resolved: Arc<Resolved>) {
        let key = resolved.connection.key.to_string();
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use keyway_core::connection::{ConnectionKey, ConnectionState};
    use keyway_core::identity::{Identity, IdentityType};
    use keyway_core::timestamp::Timestamp;

    use super::*;

    fn resolved(project: &str, env: Environment, key: &str) -> Arc<Resolved> {
        let connection = Connection {
            id: format!("conn_{project}"),
            key: ConnectionKey::from_trusted(key.to_owned()),
            project_id: ProjectId::from_trusted(project.to_owned()),
            environment: env,
            platform: "acme".into(),
            platform_version: "v1".into(),
            identity: Identity::parse("u").expect("identity"),
            identity_type: IdentityType::User,
            name: None,
            tags: Vec::new(),
            state: ConnectionState::Operational,
            active: true,
            version: 1,
            fields: BTreeMap::new(),
            oauth_expires_at: None,
            oauth_issued_at: None,
            oauth_scopes: None,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        };
        Arc::new(Resolved {
            connection,
            credentials: Credentials::new(BTreeMap::new()),
            injected: Injected {
                base: crate::proxy::target::Base::new(
                    url::Url::parse("https://api.acme.test").expect("url"),
                ),
                headers: Vec::new(),
                query: None,
                internal: false,
                platform_name: "Acme".into(),
            },
        })
    }

    #[test]
    fn an_entry_answers_only_for_its_own_project_and_environment() {
        let cache = ConnectionCache::default();
        let key = "test::acme::default::0123456789abcdef0123456789abcdef|u";
        cache.put(resolved("prj_a", Environment::Test, key));
        let a = ProjectId::from_trusted("prj_a".into());
        let b = ProjectId::from_trusted("prj_b".into());
        let hit = cache.get(&a, Environment::Test, key).expect("a hit");
        assert_eq!(hit.connection.id, "conn_prj_a");
        assert!(
            cache.get(&b, Environment::Test, key).is_none(),
            "another project"
        );
        assert!(
            cache.get(&a, Environment::Live, key).is_none(),
            "another environment"
        );
        assert!(cache
            .get(&a, Environment::Test, "test::acme::default::other|u")
            .is_none());
        cache.invalidate("conn_prj_a");
        assert!(
            cache.get(&a, Environment::Test, key).is_none(),
            "invalidated"
        );
    }
}
