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
        Self { client }
    }

    /// Sends; resolves when the upstream's response headers arrive. Redirects are returned, not followed.
    pub async fn send(
        &self,
        request: http::Request<UpstreamBody>,
    ) -> Result<UpstreamResponse, hyper_util::client::legacy::Error> {
        self.client.request(request).await
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
