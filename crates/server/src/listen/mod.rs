//! The front door: accepting TCP connections and speaking HTTP/1.1 on them, with the limits every client
//! meets before any route runs.
//!
//! - A cap on open connections per node (`Limits::max_connections`): at the cap the node stops accepting
//!   (new connections wait in the kernel's backlog) and says so once in the log until it accepts again.
//! - A header-read timeout: from the moment a connection is ready for a request (when it opens, and after
//!   each response) its complete request head must arrive within `Limits::header_read_timeout`, or the
//!   connection is closed. This closes idle keep-alive connections and slow-header (slowloris) clients alike.
//! - Head size: a request head is read up to a hard backstop only; the configured cap on header bytes is
//!   enforced by `App` with the JSON error shape (`headers_too_large`, 431).
//! - `io::FrontIo`: the JSON error shape on hyper's own replies to unparseable first requests, and a
//!   lingering close (RFC 9112 §9.6), so a client still sending a body we refused reads our reply.

mod io;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::App;

pub use io::Linger;

/// What a connection may take of this node before (or instead of) being served.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections per node; at the cap, new ones wait in the listen backlog.
    pub max_connections: usize,
    /// A connection must deliver each request's complete head within this time of being ready for it.
    pub header_read_timeout: Duration,
    /// The largest request head hyper reads at all (request line and headers); above it hyper refuses the
    /// request (431 or 414). Set above the caps `App` enforces, so those get the JSON shape.
    pub max_head_bytes: usize,
    /// After a response that ends the connection: how long and how much of an unread request body is
    /// read and discarded before closing.
    pub linger: Linger,
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets open connections
/// finish their requests (idle ones are closed at once), and returns when all have closed.
pub async fn serve(
    listener: TcpListener,
    app: App,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_head_bytes)
        // hyper's read buffer must hold the largest head it accepts.
        .max_buf_size(limits.max_head_bytes.max(400 * 1024) + 8 * 1024);
    let limits = Arc::new(limits);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut at_cap = false;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if !at_cap {
                    at_cap = true;
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: not accepting new connections until one closes (setting max_connections)"
                    );
                }
                tokio::select! {
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        if at_cap {
            at_cap = false;
            tracing::info!("accepting connections again");
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // TCP_NODELAY: a response written in more than one piece (a streamed passthrough body, an event
        // stream) must not wait for the client's delayed ACK (Nagle).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY on a connection");
        }
        let served = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(io::FrontIo::new(stream, served.clone(), limits.linger));
        let app = app.for_peer(peer);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            served.store(true, Ordering::Relaxed);
            let mut app = app.clone();
            tower::Service::call(&mut app, request.map(axum::body::Body::new))
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log_connection_end(&e, peer);
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Errors from `accept` are about one connection (reset before we took it) or about this process
/// (out of file descriptors); for the latter, wait a little rather than spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections; retrying in 1 s (if out of file descriptors, raise `ulimit -n` or lower max_connections)");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

fn log_connection_end(e: &hyper::Error, peer: SocketAddr) {
    if e.is_timeout() {
        tracing::debug!(%peer, "connection closed: no complete request head within header_read_timeout");
    } else if e.is_parse() || e.is_parse_too_large() {
        tracing::debug!(%peer, error = %e, "connection closed: unparseable request");
    } else {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
