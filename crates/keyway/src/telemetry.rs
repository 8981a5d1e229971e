//! Logging: human-readable by default, JSON on request, to stderr. Request spans carry `request_id`;
//! no layer ever records headers or bodies.
//!
//! The server logs through a writer thread ([`init_server`]): a request only formats its lines and hands
//! them over, and the thread writes whatever has queued in one system call. A stalled stderr (a full pipe
//! to a log collector) then costs log lines, counted and reported in a warning, never requests. CLI
//! commands write directly ([`init`]).

use std::io::IsTerminal;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Lines queued for the writer thread before new ones are dropped.
const QUEUED_LINES: usize = 65_536;

/// Direct, synchronous logging to stderr (CLI commands).
pub fn init(format: LogFormat, filter: &str) {
    install(format, filter, std::io::stderr);
}

/// The server's logging; keep the guard until the server has stopped (dropping it writes what is left).
/// The counter tells how many lines were dropped because the writer fell behind.
pub fn init_server(format: LogFormat, filter: &str) -> (WorkerGuard, ErrorCounter) {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("keyway-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let dropped = writer.error_counter();
    install(format, filter, writer);
    (guard, dropped)
}

/// Every ten seconds, a warning with the number of log lines dropped since the last one, if any.
pub async fn report_dropped(dropped: ErrorCounter) {
    let mut reported = 0;
    let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
    loop {
        every.tick().await;
        let now = dropped.dropped_lines();
        if now > reported {
            tracing::warn!(
                dropped = now - reported,
                "log lines dropped: the log writer could not keep up with stderr"
            );
            reported = now;
        }
    }
}

fn install<W>(format: LogFormat, filter: &str, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}
