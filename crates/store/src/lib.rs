//! The only crate with SQL. One `Store` runs on SQLite (embedded default) or PostgreSQL (shared by many
//! stateless nodes), chosen by URL scheme. Portable SQL is written once (sqlx's `Any` driver); the few
//! statements that must differ branch on `Backend` inside the method that needs them.
//! Invariants: secrets reach this crate only as `SealedBlob`s or keyed hashes; every tenant-owned query is
//! scoped by project and environment in the same statement.

pub mod audit;
pub mod authkit_sessions;
pub mod backend;
pub mod changes;
pub mod connection_browse;
pub mod connections;
pub mod dashboard_sessions;
pub mod error;
pub mod integrations;
pub mod master_keys;
pub mod oauth;
pub mod operators;
mod paging;
pub mod project_settings;
pub mod projects;
pub mod rate_limits;
pub mod request_log_browse;
pub mod request_logs;
pub mod schema;
pub mod sealed;
pub mod secret_keys;
pub mod sign_in_throttle;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::backend::Backend;
use crate::error::StoreError;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Pool settings; the defaults suit one node.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Kept for opening a LISTEN connection (Postgres change notifications).
    url: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.backend)
    }
}

impl Store {
    /// Connects without migrating. `url` is `sqlite://…` or `postgres://…`; anything else is refused.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        let backend = Backend::from_url(url)?;
        sqlx::any::install_default_drivers();
        let mut options = AnyPoolOptions::new()
            .max_connections(match backend {
                // One writer at a time anyway; a few readers beside it.
                Backend::Sqlite => settings.max_connections.min(8),
                Backend::Postgres => settings.max_connections,
            })
            .acquire_timeout(settings.acquire_timeout);
        if backend == Backend::Sqlite {
            // An embedded file cannot drop the connection under us: skip the ping on every acquire.
            options = options
                .test_before_acquire(false)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                });
        }
        let pool = options.connect(url).await.map_err(StoreError::Connect)?;
        Ok(Self {
            pool,
            backend,
            url: url.into(),
        })
    }

    /// Connects and brings the schema up to date. Safe to run from several nodes at once (Postgres
    /// migrations hold an advisory lock).
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        let store = Self::connect(url, settings).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.map_err(StoreError::Migrate)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Cheap round trip for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

impl Store {
    /// Refreshes the query planner's statistics (after a bulk import): `ANALYZE` on both backends.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }
}
