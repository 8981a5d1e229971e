//! The proactive refresh sweep: every interval (with jitter), refresh OAuth connections expiring soon or
//! already expired, in bounded batches with bounded concurrency. "Soon" follows the on-use rule with the
//! horizon as its cap: within the horizon and past half the token's lifetime, so a short-lived token is
//! refreshed at most once per pass and never right after it was issued. Safe to run on every node at once:
//! each refresh goes through the same lease as on-demand refreshes, leased rows are skipped, and a token
//! another node stored meanwhile is left alone.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{watch, Semaphore};

use crate::oauth::refresh::Need;
use crate::Broker;

#[derive(Debug, Clone)]
pub struct SweepSettings {
    pub interval: Duration,
    /// Refresh tokens expiring within this many seconds (or within half their lifetime, if shorter).
    pub horizon_seconds: i64,
    pub batch: u32,
    pub concurrency: usize,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            horizon_seconds: 600,
            batch: 200,
            concurrency: 4,
        }
    }
}

/// Runs until `stop` turns true.
pub async fn run(broker: Broker, settings: SweepSettings, mut stop: watch::Receiver<bool>) {
    loop {
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        tokio::select! {
            () = tokio::time::sleep(settings.interval.mul_f64(jitter)) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        match sweep_once(&broker, &settings).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(refreshed = n, "refresh sweep done"),
            Err(e) => tracing::warn!(error = %e, "refresh sweep failed"),
        }
    }
}

/// One pass; returns how many connections it tried to refresh.
pub async fn sweep_once(
    broker: &Broker,
    settings: &SweepSettings,
) -> Result<usize, crate::error::BrokerError> {
    let now = keyway_core::timestamp::Timestamp::now();
    let due = broker
        .store
        .connections_due_for_refresh(
            now.plus_seconds(settings.horizon_seconds),
            now,
            settings.batch,
        )
        .await?;
    let count = due.len();
    let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for item in due {
        let broker = broker.clone();
        let permits = permits.clone();
        let horizon = settings.horizon_seconds;
        tasks.spawn(async move {
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            let Ok(Some(connection)) = broker
                .store
                .connection(&item.project_id, item.environment, &item.id)
                .await
            else {
                return;
            };
            let need = Need::Due {
                seen: connection.oauth_issued_at,
                within_seconds: horizon,
            };
            if let Err(e) = broker.refresh(&connection, need).await {
                tracing::debug!(connection = %item.id, error = %e, "sweep refresh did not succeed");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(count)
}
