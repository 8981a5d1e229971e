//! Keyway's use cases, one module per capability. Protocol-agnostic: nothing here knows HTTP status codes,
//! JSON wire shapes or SQL. `Broker::start` runs the start-up checks every process (server or CLI) needs.

pub mod actions;
pub mod audit;
pub mod authkit;
pub mod bootstrap;
pub mod connect;
pub mod connection_test;
pub mod connections;
pub mod credentials;
pub mod error;
pub mod execute;
pub mod integrations;
pub mod keys;
pub mod oauth;
pub mod operators;
pub mod projects;
pub mod proxy;
pub mod request_log;
pub mod sealing;
pub mod settings;
pub mod upstream;

use std::sync::Arc;

use keyway_catalog::load::Catalog;
use keyway_crypto::keyed_hash::KeyedHasher;
use keyway_crypto::keyring::Keyring;
use keyway_store::Store;

use crate::bootstrap::FirstStart;
use crate::error::BrokerError;
use crate::keys::SecretKeys;
use crate::sealing::Sealer;

/// Everything a request handler or CLI command needs, cheap to clone.
#[derive(Clone, Debug)]
pub struct Broker {
    pub store: Store,
    pub sealer: Sealer,
    pub keys: SecretKeys,
    pub catalog: Arc<Catalog>,
    hasher: Arc<KeyedHasher>,
    http: reqwest::Client,
    /// Names this process in refresh leases.
    node_id: String,
    refresh_locks:
        Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    connection_cache: Arc<proxy::cache::ConnectionCache>,
    proxy_clients: proxy::Clients,
    pub request_log: request_log::RequestLogger,
    /// Drops cache entries other nodes announce as changed; stops with the last clone.
    _change_listener: Option<Arc<AbortOnDrop>>,
}

/// A background task that ends when its owner is dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Broker {
    /// Replaces the passthrough timeouts (the defaults suit production).
    pub fn with_proxy_settings(mut self, settings: proxy::ProxySettings) -> Self {
        self.proxy_clients = proxy::Clients::new(settings);
        self
    }

    /// Checks the master keyring against the database, loads server secrets, and on an empty database
    /// creates the default project. Returns the first-start keys when this call created them.
    pub async fn start(
        store: Store,
        keyring: Keyring,
        catalog: Catalog,
    ) -> Result<(Self, Option<FirstStart>), BrokerError> {
        let sealer = Sealer::new(store.clone(), keyring);
        sealer.check_keyring().await?;
        let hasher = Arc::new(sealer.secret_key_hasher().await?);
        let keys = SecretKeys::new(store.clone(), hasher.clone());
        let first_start = bootstrap::ensure_default_project(&store, &keys).await?;
        let request_log = request_log::RequestLogger::start(store.clone());
        let connection_cache: Arc<proxy::cache::ConnectionCache> = Arc::default();
        let change_listener = match store.connection_changes().await? {
            None => None,
            Some(changes) => {
                let cache = connection_cache.clone();
                let keys = keys.clone();
                let task = tokio::spawn(async move {
                    use futures_util::StreamExt;
                    let mut changes = std::pin::pin!(changes);
                    while let Some(id) = changes.next().await {
                        if let Some(key_id) = id.strip_prefix(keys::KEY_CHANGE_PREFIX) {
                            keys.forget(Some(key_id));
                        } else if let Some(project) = id.strip_prefix(keys::SETTINGS_CHANGE_PREFIX)
                        {
                            keys.forget_project(project);
                        } else {
                            cache.invalidate(&id);
                        }
                    }
                });
                Some(Arc::new(AbortOnDrop(task)))
            }
        };
        let broker = Self {
            store,
            sealer,
            keys,
            catalog: Arc::new(catalog),
            hasher,
            http: upstream::client(),
            node_id: format!("node_{}", keyway_crypto::random::hex::<8>()),
            refresh_locks: Arc::default(),
            connection_cache,
            _change_listener: change_listener,
            request_log,
            proxy_clients: proxy::Clients::new(proxy::ProxySettings::default()),
        };
        Ok((broker, first_start))
    }
}
