//! The passthrough request log, off the hot path: handlers hand entries to a bounded channel (never
//! waiting; a full channel drops the entry and counts it), a writer task inserts whatever has queued since
//! its last write as one statement (batches grow with load, up to `MAX_BATCH`), and a retention task
//! prunes old entries in bounded chunks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use keyway_core::timestamp::Timestamp;
use keyway_store::request_logs::{RequestLog, RequestLogWriter};
use keyway_store::Store;
use tokio::sync::{mpsc, oneshot, watch};

const CAPACITY: usize = 10_000;
/// Most entries per insert: bounds one statement's work (and the JSON built for it).
const MAX_BATCH: usize = 512;
const LINGER: Duration = Duration::from_millis(5);

enum Message {
    Entry(Box<RequestLog>),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone)]
pub struct RequestLogger {
    tx: mpsc::Sender<Message>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

impl RequestLogger {
    /// Starts the writer task; it ends when every logger clone is gone, after writing what it holds.
    pub fn start(store: Store) -> Self {
        let (tx, rx) = mpsc::channel(CAPACITY);
        tokio::spawn(write_batches(store, rx));
        Self {
            tx,
            dropped: Arc::default(),
        }
    }

    /// Queues an entry without waiting.
    pub fn record(&self, entry: RequestLog) {
        if self.tx.try_send(Message::Entry(Box::new(entry))).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "request log queue full; entries dropped");
            }
        }
    }

    /// Waits until everything queued so far is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn write_batches(store: Store, mut rx: mpsc::Receiver<Message>) {
    let mut messages: Vec<Message> = Vec::with_capacity(MAX_BATCH);
    let mut batch: Vec<RequestLog> = Vec::with_capacity(MAX_BATCH);
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    let mut writer: Option<RequestLogWriter> = None;
    loop {
        // Wait for the first message, linger briefly so a busy node writes a few large batches rather
        // than many small ones, then take everything queued (up to the cap) without waiting.
        if rx.recv_many(&mut messages, MAX_BATCH).await == 0 {
            // Every logger is gone and nothing is left.
            if let Some(w) = writer {
                w.close().await;
            }
            return;
        }
        let flushing = messages.iter().any(|m| matches!(m, Message::Flush(_)));
        if !flushing && messages.len() < MAX_BATCH {
            tokio::time::sleep(LINGER).await;
            while messages.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(m) => messages.push(m),
                    Err(_) => break,
                }
            }
        }
        for m in messages.drain(..) {
            match m {
                Message::Entry(e) => batch.push(*e),
                Message::Flush(done) => waiters.push(done),
            }
        }
        write(&store, &mut writer, &mut batch).await;
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

/// Writes on the logger's own connection (opened on first use, reopened after an error); a batch whose
/// write failed there is tried once more through the pool before it is given up with a warning.
async fn write(store: &Store, writer: &mut Option<RequestLogWriter>, batch: &mut Vec<RequestLog>) {
    if batch.is_empty() {
        return;
    }
    if writer.is_none() {
        match store.request_log_writer().await {
            Ok(w) => *writer = Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "request log: no writer connection; using the pool")
            }
        }
    }
    let written = match writer.as_mut() {
        Some(w) => w.insert(batch).await,
        None => store.insert_request_logs(batch).await,
    };
    if let Err(first) = written {
        if let Some(w) = writer.take() {
            w.close().await;
            if let Err(e) = store.insert_request_logs(batch).await {
                tracing::warn!(error = %e, entries = batch.len(), "could not write request log entries");
            } else {
                tracing::info!(error = %first, "request log writer connection replaced");
            }
        } else {
            tracing::warn!(error = %first, entries = batch.len(), "could not write request log entries");
        }
    }
    batch.clear();
}

/// Prunes entries older than `days` every hour until `stop`.
pub async fn run_retention(store: Store, days: u32, mut stop: watch::Receiver<bool>) {
    loop {
        let before = Timestamp::now().plus_seconds(-i64::from(days) * 86_400);
        loop {
            match store.purge_request_logs(before, 10_000).await {
                Ok(10_000) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "request log retention failed");
                    break;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

impl crate::Broker {
    /// Up to `limit` log entries older than `after`, newest first, and whether more follow.
    pub async fn browse_request_logs(
        &self,
        project: &keyway_core::id::ProjectId,
        env: keyway_core::environment::Environment,
        filter: &keyway_store::request_log_browse::LogBrowseFilter,
        after: Option<&keyway_store::request_log_browse::LogCursor>,
        limit: u32,
    ) -> Result<(Vec<RequestLog>, bool), crate::error::BrokerError> {
        Ok(self
            .store
            .browse_request_logs(project, env, filter, after, limit)
            .await?)
    }

    /// One entry of this project environment's log.
    pub async fn request_log_entry(
        &self,
        project: &keyway_core::id::ProjectId,
        env: keyway_core::environment::Environment,
        id: &str,
    ) -> Result<Option<RequestLog>, crate::error::BrokerError> {
        Ok(self.store.request_log(project, env, id).await?)
    }
}
