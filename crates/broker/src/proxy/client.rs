//! The pooled upstream client passthrough sends through: hyper-util's keep-alive pool over rustls (HTTP/1.1),
//! with the egress guard inside DNS resolution ([`Resolver`]). Used directly rather than through reqwest:
//! passthrough already holds an `http::Request`'s parts and streams bodies both ways, and reqwest's URL
//! re-parsing, header merging and boxing were a measurable share of each request (README, "Benchmark").

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::proxy::egress::{is_forbidden, EgressRefused};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A request body on its way upstream: streamed, in memory, or empty.
pub type UpstreamBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;
pub type UpstreamResponse = http::Response<Incoming>;

/// A body streamed from `stream` (never collected).
pub fn streamed<S>(stream: S) -> UpstreamBody
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    StreamBody::new(stream.map_ok(Frame::data).map_err(BoxError::from)).boxed_unsync()
}

pub fn full(bytes: impl Into<Bytes>) -> UpstreamBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn empty() -> UpstreamBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// The response body as a stream of data chunks (trailers are not forwarded).
pub fn data_stream(
    body: Incoming,
) -> impl Stream<Item = Result<Bytes, hyper::Error>> + Send + 'static {
    body.into_data_stream()
}

/// DNS for upstream connections. `guarded` drops every address passthrough may not reach (loopback,
/// private, link-local, …); a name left with none fails with [`EgressRefused`]. Because the check happens
/// here, the address that was checked is the address connected to (no re-resolution window).
#[derive(Debug, Clone, Copy)]
pub struct Resolver {
    guarded: bool,
}

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let guarded = self.guarded;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = if guarded {
                found
                    .into_iter()
                    .filter(|a| !is_forbidden(a.ip()))
                    .collect()
            } else {
                found
            };
            if allowed.is_empty() {
                return Err(Box::new(EgressRefused(host)) as BoxError);
            }
            Ok(allowed.into_iter())
        })
    }
}

type Connector = HttpsConnector<HttpConnector<Resolver>>;

/// One pool of keep-alive connections (cheap to clone: the pool is shared).
#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client<Connector, UpstreamBody>,
    guarded: bool,
}

impl Upstream {
    /// `guarded`: refuse internal addresses (every platform but those marked `internal`).
    pub fn new(guarded: bool, connect_timeout: Duration) -> Self {
        let mut http = HttpConnector::new_with_resolver(Resolver { guarded });
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring supports the default protocol versions")
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .build(https);
        Self { client, guarded }
    }

    /// Sends; resolves when the upstream's response headers arrive. Redirects are returned, not followed.
    pub async fn send(
        &self,
        request: http::Request<UpstreamBody>,
    ) -> Result<UpstreamResponse, BoxError> {
        if self.guarded {
            // Names are vetted by the resolver, but an address literal never reaches it (the connector
            // parses it), so it is vetted here. `target` refuses these as well; this is the second line.
            let host = request.uri().host().unwrap_or_default();
            let literal = host.trim_start_matches('[').trim_end_matches(']');
            if literal.parse().is_ok_and(is_forbidden) {
                return Err(Box::new(EgressRefused(literal.to_owned())));
            }
        }
        Ok(self.client.request(request).await?)
    }
}

/// What went wrong reaching the upstream, from the error's source chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    EgressRefused,
    TimedOut,
    Unreachable,
}

pub fn classify(error: &(dyn std::error::Error + 'static)) -> Failure {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<EgressRefused>() {
            return Failure::EgressRefused;
        }
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return Failure::TimedOut;
        }
        next = e.source();
    }
    Failure::Unreachable
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// How the fake upstream treats each connection after answering a request.
    #[derive(Clone, Copy)]
    enum Then {
        KeepAlive,
        /// Close the socket a moment later without having said so (no `connection: close`), as an
        /// upstream whose keep-alive timeout fired does.
        CloseSoon,
    }

    /// A raw HTTP/1.1 upstream on loopback: answers every request with `ok:{n}:{host}` and counts accepts.
    async fn upstream(then: Then) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::spawn(serve(socket, n, then));
            }
        });
        (format!("http://{addr}"), accepted)
    }

    async fn serve(mut socket: TcpStream, n: usize, then: Then) {
        let mut buf = Vec::new();
        loop {
            let mut chunk = [0u8; 1024];
            let Ok(read) = socket.read(&mut chunk).await else {
                return;
            };
            if read == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..read]);
            while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                buf.drain(..end + 4);
                let host = head
                    .lines()
                    .find_map(|l| l.strip_prefix("host: "))
                    .unwrap_or("-")
                    .to_owned();
                let body = if head.starts_with("GET /slow") {
                    // Promises more than it sends, then stalls.
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nfirst")
                        .await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                } else {
                    format!("ok:{n}:{host}")
                };
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if socket.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
                if let Then::CloseSoon = then {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    return;
                }
            }
        }
    }

    async fn get(client: &Upstream, url: &str) -> Result<String, BoxError> {
        let mut request = http::Request::new(empty());
        *request.uri_mut() = url.parse().expect("uri");
        let response = client.send(request).await?;
        let body = response.into_body().collect().await?;
        Ok(String::from_utf8(body.to_bytes().to_vec()).expect("utf-8"))
    }

    #[tokio::test]
    async fn sequential_requests_share_one_connection_and_name_the_host() {
        let (base, accepted) = upstream(Then::KeepAlive).await;
        let client = Upstream::new(false, Duration::from_secs(5));
        let port = base.rsplit(':').next().expect("port").to_owned();
        for _ in 0..5 {
            assert_eq!(
                get(&client, &format!("{base}/x?q=1")).await.expect("sent"),
                format!("ok:1:127.0.0.1:{port}")
            );
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_requests_each_get_a_connection_and_return_it() {
        let (base, accepted) = upstream(Then::KeepAlive).await;
        let client = Upstream::new(false, Duration::from_secs(5));
        let url = format!("{base}/x");
        let all = futures_util::future::join_all((0..8).map(|_| get(&client, &url))).await;
        assert!(all
            .iter()
            .all(|r| r.as_ref().is_ok_and(|b| b.starts_with("ok:"))));
        let opened = accepted.load(Ordering::SeqCst);
        assert!((1..=8).contains(&opened), "{opened} connections");
        // Afterwards they are all reused: no new connection for another round.
        for _ in 0..3 {
            let again =
                futures_util::future::join_all((0..opened).map(|_| get(&client, &url))).await;
            assert!(again.iter().all(|r| r.is_ok()));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), opened);
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closed_is_replaced_without_failing_the_request() {
        let (base, accepted) = upstream(Then::CloseSoon).await;
        let client = Upstream::new(false, Duration::from_secs(5));
        for i in 1..=4 {
            let body = get(&client, &format!("{base}/x")).await.expect("sent");
            assert!(body.starts_with(&format!("ok:{i}:")), "{body}");
            // The connection went back to the pool alive; it is closed by the time it is taken again.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_body_dropped_before_its_end_closes_its_connection() {
        let (base, accepted) = upstream(Then::KeepAlive).await;
        let client = Upstream::new(false, Duration::from_secs(5));
        let mut request = http::Request::new(empty());
        *request.uri_mut() = format!("{base}/slow").parse().expect("uri");
        let response = client.send(request).await.expect("headers");
        let mut body = response.into_body();
        let first = body.frame().await.expect("a frame").expect("data");
        assert_eq!(first.into_data().expect("data"), "first");
        drop(body);
        // The half-read connection must not be reused: the next request gets a clean one.
        assert_eq!(get(&client, &format!("{base}/x")).await.expect("sent"), {
            let port = base.rsplit(':').next().expect("port");
            format!("ok:2:127.0.0.1:{port}")
        });
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn guarded_clients_refuse_loopback_by_name_and_by_address_before_connecting() {
        let (base, accepted) = upstream(Then::KeepAlive).await;
        let port = base.rsplit(':').next().expect("port").to_owned();
        let guarded = Upstream::new(true, Duration::from_secs(5));
        for url in [
            format!("http://localhost:{port}/x"),
            format!("http://127.0.0.1:{port}/x"),
            format!("http://[::ffff:127.0.0.1]:{port}/x"),
        ] {
            let error = get(&guarded, &url).await.expect_err("refused");
            assert_eq!(classify(&*error), Failure::EgressRefused, "{url}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
        // The same upstream through an unguarded client (platforms marked internal) is reached.
        let internal = Upstream::new(false, Duration::from_secs(5));
        assert!(get(&internal, &format!("http://localhost:{port}/x"))
            .await
            .is_ok());
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }
}
