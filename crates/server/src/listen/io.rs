//! `FrontIo`, the accepted socket as hyper sees it. Two jobs hyper does not do for us:
//!
//! - **JSON errors below the router.** When the first request on a connection cannot be parsed (garbage
//!   on the port, bad bytes in a header, a head over hyper's backstop), hyper writes a bare status line
//!   and closes. Before any request has reached the service, nothing else can be on the wire, so such a
//!   reply is replaced whole by the same status in the JSON error shape. (On a later request of a
//!   keep-alive connection hyper's bare reply may share a write with the previous response, so it is
//!   left alone.)
//! - **Lingering close** (RFC 9112 §9.6). When hyper ends a connection (a 413 sent while the client is
//!   still uploading, `Connection: close`, shutdown), closing a socket with unread input makes the kernel
//!   send RST, and the client's kernel may then discard our reply before the client reads it. So on
//!   shutdown the write side is closed first (FIN after the reply), then input is read and discarded
//!   until the client closes, goes quiet, or a time or byte bound is reached.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Bounds of the lingering close.
#[derive(Debug, Clone, Copy)]
pub struct Linger {
    /// Longest the whole drain may take.
    pub total: Duration,
    /// The drain ends when the client sends nothing for this long.
    pub quiet: Duration,
    /// The drain ends after discarding this many bytes.
    pub max_bytes: u64,
}

impl Default for Linger {
    fn default() -> Self {
        Self {
            total: Duration::from_secs(10),
            quiet: Duration::from_secs(2),
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

pub(super) struct FrontIo<S> {
    inner: S,
    /// Set by the connection's service when a request reaches it.
    served: Arc<AtomicBool>,
    reply: Reply,
    linger: Linger,
    closing: Closing,
}

enum Reply {
    /// No request served yet: a reply written now is hyper's own parse-error reply.
    Watching,
    /// Writing our JSON reply in place of hyper's; `at` bytes of it are written.
    Replacing { bytes: Vec<u8>, at: usize },
    /// Pass everything through.
    Off,
}

enum Closing {
    Open,
    Draining {
        total: Pin<Box<Sleep>>,
        quiet: Pin<Box<Sleep>>,
        discarded: u64,
    },
    Closed,
}

impl<S> FrontIo<S> {
    pub(super) fn new(inner: S, served: Arc<AtomicBool>, linger: Linger) -> Self {
        Self {
            inner,
            served,
            reply: Reply::Watching,
            linger,
            closing: Closing::Open,
        }
    }
}

impl<S: AsyncWrite + Unpin> FrontIo<S> {
    /// Looks at hyper's first write while no request has been served; returns true when it was
    /// replaced by our JSON reply (and so must be reported as written).
    fn intercept(&mut self, first: &[u8]) -> bool {
        if !matches!(self.reply, Reply::Watching) {
            return false;
        }
        if self.served.load(Ordering::Relaxed) {
            self.reply = Reply::Off;
            return false;
        }
        match replacement(first) {
            Some(bytes) => {
                self.reply = Reply::Replacing { bytes, at: 0 };
                true
            }
            None => {
                self.reply = Reply::Off;
                false
            }
        }
    }

    /// Writes what is left of our replacement reply.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Reply::Replacing { bytes, at } = &mut self.reply {
            while *at < bytes.len() {
                let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*at..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                *at += n;
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Our reply for hyper's automatic one (`HTTP/1.1 400 Bad Request\r\n…`), or `None` for anything else.
fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    let status = written.strip_prefix(b"HTTP/1.1 ")?.get(..3)?;
    let (status, code, message) = match status {
        b"400" => (
            http::StatusCode::BAD_REQUEST,
            "bad_request",
            "The request is not valid HTTP/1.1",
        ),
        b"414" => (
            http::StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "The request's URI is too long",
        ),
        b"431" => (
            http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "The request's headers are too large, or too many",
        ),
        _ => return None,
    };
    let request_id = crate::request_id::new_id();
    let body = crate::error::json_body(status, code, message, &request_id);
    let mut reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(&body);
    Some(reply)
}

impl<S: AsyncRead + Unpin> AsyncRead for FrontIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for FrontIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.reply {
            Reply::Off => Pin::new(&mut this.inner).poll_write(cx, buf),
            // hyper writes nothing after its error reply; whatever it is, it is dropped with it.
            Reply::Replacing { .. } => {
                let _ = this.poll_replacement(cx)?;
                Poll::Ready(Ok(buf.len()))
            }
            Reply::Watching => {
                if this.intercept(buf) {
                    let _ = this.poll_replacement(cx)?;
                    Poll::Ready(Ok(buf.len()))
                } else {
                    Pin::new(&mut this.inner).poll_write(cx, buf)
                }
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if !matches!(this.reply, Reply::Off) {
            let total = bufs.iter().map(|b| b.len()).sum();
            let first = bufs.iter().find(|b| !b.is_empty()).map(|b| &b[..]);
            let replaced = matches!(this.reply, Reply::Replacing { .. })
                || first.is_some_and(|first| this.intercept(first));
            if replaced {
                let _ = this.poll_replacement(cx)?;
                return Poll::Ready(Ok(total));
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        let this = &mut *self;
        loop {
            match &mut this.closing {
                Closing::Closed => return Poll::Ready(Ok(())),
                Closing::Open => {
                    // Our reply is out; FIN tells the client no more is coming.
                    ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    let now = Instant::now();
                    this.closing = Closing::Draining {
                        total: Box::pin(tokio::time::sleep_until(now + this.linger.total)),
                        quiet: Box::pin(tokio::time::sleep_until(now + this.linger.quiet)),
                        discarded: 0,
                    };
                }
                Closing::Draining {
                    total,
                    quiet,
                    discarded,
                } => {
                    let mut scratch = [0u8; 8192];
                    let mut buf = ReadBuf::new(&mut scratch);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                        Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                            *discarded += buf.filled().len() as u64;
                            if *discarded >= this.linger.max_bytes {
                                this.closing = Closing::Closed;
                            } else {
                                quiet.as_mut().reset(Instant::now() + this.linger.quiet);
                            }
                        }
                        // The client closed too (or the socket failed): nothing more to wait for.
                        Poll::Ready(_) => this.closing = Closing::Closed,
                        Poll::Pending => {
                            if total.as_mut().poll(cx).is_ready()
                                || quiet.as_mut().poll(cx).is_ready()
                            {
                                this.closing = Closing::Closed;
                            } else {
                                return Poll::Pending;
                            }
                        }
                    }
                }
            }
        }
    }
}
