//! The timers while a request is sent upstream. While its body is on the way only the idle timeout applies
//! (the upstream took no chunk for that long); the first-byte timeout starts once the last chunk has been
//! handed over, so an upload that keeps flowing is never cut off for taking long.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::proxy::client::{BoxError, Upstream, UpstreamBody, UpstreamResponse};

/// The timer that ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// No chunk of the body was taken for the idle timeout.
    Idle,
    /// No response headers within the first-byte timeout of the body's end.
    FirstByte,
}

/// Sends `request`; resolves when the upstream's response headers arrive, or when a timer runs out.
pub async fn send(
    upstream: &Upstream,
    request: http::Request<UpstreamBody>,
    first_byte: Duration,
    idle: Duration,
) -> Result<Result<UpstreamResponse, BoxError>, Expired> {
    if request.body().is_end_stream() {
        // Nothing to send (most requests): the first-byte timer starts now, with no watching.
        return tokio::time::timeout(first_byte, upstream.send(request))
            .await
            .map_err(|_| Expired::FirstByte);
    }
    let progress = Arc::new(Progress::new());
    let watched = progress.clone();
    let request = request.map(move |inner| {
        Watched {
            inner,
            progress: watched,
        }
        .boxed_unsync()
    });
    tokio::select! {
        biased;
        sent = upstream.send(request) => Ok(sent),
        expired = progress.expiry(first_byte, idle) => Err(expired),
    }
}

/// How far the body has got: when the client last took a chunk of it, and whether it has taken the end.
struct Progress {
    origin: Instant,
    /// Milliseconds from `origin` to the last chunk taken.
    last_chunk: AtomicU64,
    sent: AtomicBool,
    sent_notice: Notify,
}

impl Progress {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            last_chunk: AtomicU64::new(0),
            sent: AtomicBool::new(false),
            sent_notice: Notify::new(),
        }
    }

    fn chunk_taken(&self) {
        let since = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_chunk.store(since, Ordering::Relaxed);
    }

    fn finish(&self) {
        if !self.sent.swap(true, Ordering::AcqRel) {
            // A permit is kept if `expiry` is not waiting yet, so the notice cannot be missed.
            self.sent_notice.notify_one();
        }
    }

    /// Resolves when the idle timer runs out while sending, or the first-byte timer after it.
    async fn expiry(&self, first_byte: Duration, idle: Duration) -> Expired {
        while !self.sent.load(Ordering::Acquire) {
            let last = Duration::from_millis(self.last_chunk.load(Ordering::Relaxed));
            let deadline = self.origin + last + idle;
            if Instant::now() >= deadline {
                return Expired::Idle;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = self.sent_notice.notified() => {}
            }
        }
        tokio::time::sleep(first_byte).await;
        Expired::FirstByte
    }
}

/// A body that reports each chunk taken from it, and its end: the last frame, a frame after which it says
/// it has ended, or being dropped (hyper drops a body of known length after its last byte without asking
/// for more, and drops it on failure too; the send then resolves by itself).
struct Watched {
    inner: UpstreamBody,
    progress: Arc<Progress>,
}

impl Body for Watched {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => {
                self.progress.chunk_taken();
                if self.inner.is_end_stream() {
                    self.progress.finish();
                }
            }
            Poll::Ready(None) => self.progress.finish(),
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.progress.finish();
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::proxy::client::streamed;

    /// What the raw upstream does with a request.
    #[derive(Clone, Copy)]
    enum Upstreams {
        /// Reads the request to its end (`content-length`), then answers `200 read:{n}`.
        ReadAllThenAnswer,
        /// Reads the request to its end, then says nothing.
        ReadAllThenSilence,
        /// Reads the head only, then nothing more: the body backs up.
        NeverRead,
    }

    async fn upstream(behaviour: Upstreams) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, behaviour));
            }
        });
        format!("http://{addr}/upload")
    }

    async fn serve(mut socket: TcpStream, behaviour: Upstreams) {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let end = loop {
            let Ok(read) = socket.read(&mut chunk).await else {
                return;
            };
            if read == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..read]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.trim().parse().ok())
            .expect("the tests send a content-length");
        if let Upstreams::NeverRead = behaviour {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
        }
        let mut read = buf.len() - end;
        while read < length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read += n,
            }
        }
        if let Upstreams::ReadAllThenSilence = behaviour {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return;
        }
        let body = format!("read:{read}");
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = socket.write_all(answer.as_bytes()).await;
    }

    /// `chunks` chunks of 16 KiB, one every `every`, with the total declared as `content-length`.
    fn paced(url: &str, chunks: usize, every: Duration) -> http::Request<UpstreamBody> {
        let chunk = Bytes::from(vec![b'x'; 16 * 1024]);
        let stream = futures_util::stream::iter(0..chunks).then(move |_| {
            let chunk = chunk.clone();
            async move {
                tokio::time::sleep(every).await;
                Ok::<_, std::io::Error>(chunk)
            }
        });
        let mut request = http::Request::new(streamed(stream));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = url.parse().expect("uri");
        request.headers_mut().insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(chunks * 16 * 1024),
        );
        request
    }

    #[tokio::test]
    async fn an_upload_that_keeps_flowing_outlasts_the_first_byte_timeout() {
        let url = upstream(Upstreams::ReadAllThenAnswer).await;
        let client = Upstream::new(false, Duration::from_secs(5));
        // ~1.5 s of sending, against a 300 ms first-byte timeout.
        let request = paced(&url, 30, Duration::from_millis(50));
        let response = send(
            &client,
            request,
            Duration::from_millis(300),
            Duration::from_secs(10),
        )
        .await
        .expect("no timer ran out")
        .expect("answered");
        let body = response.into_body().collect().await.expect("body");
        assert_eq!(body.to_bytes(), format!("read:{}", 30 * 16 * 1024));
    }

    #[tokio::test]
    async fn silence_after_the_body_is_the_first_byte_timeout() {
        let url = upstream(Upstreams::ReadAllThenSilence).await;
        let client = Upstream::new(false, Duration::from_secs(5));
        let request = paced(&url, 4, Duration::from_millis(10));
        let expired = send(
            &client,
            request,
            Duration::from_millis(300),
            Duration::from_secs(30),
        )
        .await
        .expect_err("no answer");
        assert_eq!(expired, Expired::FirstByte);
    }

    #[tokio::test]
    async fn an_upstream_that_stops_taking_the_body_is_the_idle_timeout() {
        let url = upstream(Upstreams::NeverRead).await;
        let client = Upstream::new(false, Duration::from_secs(5));
        // 64 MiB, offered as fast as it is taken: far more than socket buffers hold.
        let chunk = Bytes::from(vec![b'x'; 1024 * 1024]);
        let stream = futures_util::stream::iter(
            (0..64).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        );
        let mut request = http::Request::new(streamed(stream));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = url.parse().expect("uri");
        request.headers_mut().insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(64 * 1024 * 1024),
        );
        let expired = send(
            &client,
            request,
            Duration::from_secs(60),
            Duration::from_millis(500),
        )
        .await
        .expect_err("no answer");
        assert_eq!(expired, Expired::Idle);
    }

    #[tokio::test]
    async fn a_bodiless_request_has_the_first_byte_timeout_only() {
        let url = upstream(Upstreams::ReadAllThenSilence).await;
        let client = Upstream::new(false, Duration::from_secs(5));
        let mut request = http::Request::new(crate::proxy::client::empty());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = url.parse().expect("uri");
        request
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(0));
        let expired = send(
            &client,
            request,
            Duration::from_millis(300),
            Duration::from_secs(30),
        )
        .await
        .expect_err("no answer");
        assert_eq!(expired, Expired::FirstByte);
    }
}
