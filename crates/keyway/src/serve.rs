//! Building and running the server: the same code path for `keyway serve` and the tests
//! (`Application::build` binds, possibly to port 0; `run_until_stopped` serves until the shutdown future).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use keyway_broker::bootstrap::FirstStart;
use keyway_broker::Broker;
use keyway_server::{AppState, ServerSettings};
use keyway_store::{PoolSettings, Store};

use crate::config::Config;
use crate::keyring_source;

pub struct Application {
    listener: tokio::net::TcpListener,
    app: keyway_server::App,
    pub broker: Broker,
    pub first_start: Option<FirstStart>,
    /// While no dashboard account exists: a new one-time link that creates the first owner.
    pub setup_link: Option<keyway_broker::operators::links::Link>,
    /// What browsers and OAuth providers reach this server at.
    pub public_url: String,
    grace: Duration,
    limits: keyway_server::listen::Limits,
    sweep_interval: Option<Duration>,
    log_retention_days: u32,
}

/// Loads the keyring, opens the store (migrating it) and runs the broker's start-up checks.
pub async fn open_broker(
    config: &Config,
) -> anyhow::Result<(Broker, Option<FirstStart>, keyring_source::KeySource)> {
    let backend = prepare_backend(config)?;
    let (keyring, source) = keyring_source::load(config, backend)?;
    let (broker, first_start) = start_broker(config, keyring).await?;
    Ok((broker, first_start, source))
}

/// Which backend the configuration selects; creates the data directory for the default SQLite file.
pub fn prepare_backend(config: &Config) -> anyhow::Result<keyway_store::backend::Backend> {
    let backend = keyway_store::backend::Backend::from_url(&config.database_url())?;
    if backend == keyway_store::backend::Backend::Sqlite && !config.data_dir().exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(config.data_dir()).with_context(|| {
            format!(
                "cannot create data directory {}",
                config.data_dir().display()
            )
        })?;
    }
    Ok(backend)
}

/// The built-in catalog plus `catalog_dir`, refusing to start on any problem (each one listed).
pub fn load_catalog(config: &Config) -> anyhow::Result<keyway_catalog::load::Catalog> {
    Ok(keyway_catalog::load::Catalog::load(
        true,
        config.catalog_dir.as_deref(),
    )?)
}

/// Opens the store (migrating it) and starts the broker with `keyring`.
pub async fn start_broker(
    config: &Config,
    keyring: keyway_crypto::keyring::Keyring,
) -> anyhow::Result<(Broker, Option<FirstStart>)> {
    let url = config.database_url();
    let backend = keyway_store::backend::Backend::from_url(&url)?;
    let settings = PoolSettings {
        max_connections: config.database_max_connections,
        ..PoolSettings::default()
    };
    let store = Store::open(&url, &settings)
        .await
        .with_context(|| format!("cannot open the {} database", backend.as_str()))?;
    let (broker, first) = Broker::start(store, keyring, load_catalog(config)?).await?;
    let proxy = keyway_broker::proxy::ProxySettings {
        connect_timeout: Duration::from_secs(config.passthrough_connect_timeout_seconds),
        first_byte_timeout: Duration::from_secs(config.passthrough_first_byte_timeout_seconds),
        idle_timeout: Duration::from_secs(config.passthrough_idle_timeout_seconds),
    };
    Ok((broker.with_proxy_settings(proxy), first))
}

impl Application {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let (broker, first_start, _) = open_broker(config).await?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let public_url = config.public_url_for(listener.local_addr()?)?;
        let setup_link = broker.setup_link_if_needed().await?;
        let state = AppState::new(
            broker.clone(),
            ServerSettings {
                public_url: public_url.clone(),
                max_body_bytes: config.max_body_bytes,
                passthrough_max_body_bytes: config.passthrough_max_body_bytes,
                rate_limit_per_second: config.rate_limit_per_second,
                max_header_bytes: config.max_header_bytes,
            },
        );
        Ok(Self {
            listener,
            app: keyway_server::app(state),
            broker,
            first_start,
            setup_link,
            public_url,
            grace: Duration::from_secs(config.shutdown_grace_seconds),
            limits: config.connection_limits(),
            log_retention_days: config.request_log_retention_days,
            sweep_interval: (config.refresh_sweep_seconds > 0)
                .then(|| Duration::from_secs(config.refresh_sweep_seconds)),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests finish for up
    /// to the grace period, and returns.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
        let retention = tokio::spawn(keyway_broker::request_log::run_retention(
            self.broker.store.clone(),
            self.log_retention_days,
            stopping_rx.clone(),
        ));
        let sweep = self.sweep_interval.map(|interval| {
            let settings = keyway_broker::oauth::sweep::SweepSettings {
                interval,
                ..Default::default()
            };
            tokio::spawn(keyway_broker::oauth::sweep::run(
                self.broker.clone(),
                settings,
                stopping_rx.clone(),
            ))
        });
        let server =
            keyway_server::listen::serve(self.listener, self.app, self.limits, async move {
                shutdown.await;
                tracing::info!("shutting down: no new connections; finishing in-flight requests");
                let _ = stopping_tx.send(true);
            });
        let grace = self.grace;
        let deadline = async move {
            while !*stopping_rx.borrow() {
                if stopping_rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = server => {},
            () = deadline => tracing::warn!(?grace, "grace period over; exiting with requests still in flight"),
        }
        if let Some(sweep) = sweep {
            sweep.abort();
        }
        retention.abort();
        self.broker.request_log.flush().await;
        self.broker.store.close().await;
        Ok(())
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
