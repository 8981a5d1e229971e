//! Keyway's HTTP surface. The only crate that knows status codes, JSON wire shapes and headers.
//! Routers are grouped by auth boundary: `public` (ops, docs) and `secret_key` (the developer API, every
//! handler behind the `SecretKeyAuth` extractor). Invariant: every error leaves through `error::ApiError`.

pub mod auth;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod input_schema;
pub mod list;
pub mod listen;
pub mod mcp;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod request_id;
pub mod routes;

use std::sync::Arc;

use axum::Router;
use futures_util::FutureExt;
use keyway_broker::Broker;

/// What handlers share.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Behind an `Arc`: axum clones the state for every extractor of every request.
    pub broker: Arc<Broker>,
    pub metrics: Arc<metrics::Metrics>,
    pub settings: Arc<ServerSettings>,
    pub rate_limiter: Arc<rate_limit::RateLimiter>,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// What browsers and OAuth providers reach, without a trailing slash.
    pub public_url: String,
    /// Largest request body accepted by the JSON API, in bytes.
    pub max_body_bytes: usize,
    /// Largest request body a passthrough may stream upstream, in bytes.
    pub passthrough_max_body_bytes: usize,
    /// Requests per second per secret key (burst twice that; shared by all nodes on Postgres); 0 = off.
    pub rate_limit_per_second: u32,
    /// Largest total size of a request's header fields (names, values and their separators), in bytes.
    pub max_header_bytes: usize,
}

/// Longest request target (path and query) accepted; longer ones get 414.
pub const MAX_URI_BYTES: usize = 16 * 1024;

impl AppState {
    pub fn new(broker: Broker, settings: ServerSettings) -> Self {
        let rate_limiter =
            rate_limit::RateLimiter::new(settings.rate_limit_per_second, &broker.store);
        Self {
            broker: Arc::new(broker),
            metrics: Arc::new(metrics::Metrics::new()),
            rate_limiter: Arc::new(rate_limiter),
            settings: Arc::new(settings),
        }
    }
}

/// The whole application: passthrough's hot path first, then the routes with error shaping, request ids,
/// metrics and tracing.
pub fn app(state: AppState) -> App {
    let router = routes::router(state.clone())
        .fallback(routes::not_found)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(request_id::assign));
    App {
        router,
        state,
        peer: None,
    }
}

/// The service `keyway serve` runs: `/v1/passthrough/…` goes straight to `routes::passthrough::serve`
/// (no routing, no per-layer boxing on the hot path); everything else to the router.
#[derive(Clone, Debug)]
pub struct App {
    router: Router,
    state: AppState,
    /// The peer of the connection this copy serves (`for_peer`), handed to handlers as `auth::PeerAddr`.
    peer: Option<std::net::SocketAddr>,
}

impl App {
    /// This application for one accepted connection from `peer`.
    pub fn for_peer(&self, peer: std::net::SocketAddr) -> Self {
        Self {
            peer: Some(peer),
            ..self.clone()
        }
    }
}

impl tower::Service<axum::extract::Request> for App {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: axum::extract::Request) -> Self::Future {
        if let Some(refused) = oversized_head(&request, self.state.settings.max_header_bytes) {
            return Box::pin(std::future::ready(Ok(refused)));
        }
        if routes::passthrough::is_passthrough(request.uri().path()) {
            Box::pin(routes::passthrough::serve(self.state.clone(), request).map(Ok))
        } else {
            if let Some(peer) = self.peer {
                request.extensions_mut().insert(auth::PeerAddr(peer));
            }
            Box::pin(tower::ServiceExt::oneshot(self.router.clone(), request))
        }
    }
}

/// 414 for a request target over `MAX_URI_BYTES`, 431 for header fields over `max_header_bytes`, in the
/// JSON error shape (hyper itself refuses only far larger heads, with a bare status: `listen`). Such a
/// request is neither routed nor forwarded, and the connection is closed after the reply.
fn oversized_head(
    request: &axum::extract::Request,
    max_header_bytes: usize,
) -> Option<axum::response::Response> {
    use axum::http::StatusCode;
    let uri = request.uri();
    let target = uri.path_and_query().map_or(0, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    let error = if target > MAX_URI_BYTES {
        error::ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("The request's URI is longer than {MAX_URI_BYTES} bytes"),
        )
    } else {
        let header_bytes: usize = request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        if header_bytes <= max_header_bytes {
            return None;
        }
        error::ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("The request's headers add up to more than {max_header_bytes} bytes"),
        )
    };
    let mut response = request_id::finish(
        axum::response::IntoResponse::into_response(error),
        &request_id::new_id(),
        &tracing::Span::none(),
        std::time::Instant::now(),
    );
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    Some(response)
}
