//! `/v1/passthrough/{path}` (pica-compat §10): the caller's request, streamed to the connection's platform
//! with its credentials injected, and the platform's answer streamed back — status, headers (content-type
//! included, hop-by-hop removed) and body untouched, plus our request id.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::{Stream, StreamExt};
use keyway_broker::proxy::client;
use keyway_broker::proxy::headers::remove_hop_by_hop;
use tracing::Instrument;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use keyway_broker::request_log::RequestLogger;
use keyway_core::timestamp::Timestamp;
use keyway_store::request_logs::RequestLog;

use crate::auth::{header_pair, SecretKeyAuth};
use crate::error::ApiError;
use crate::request_id::{KeepBody, RequestId};
use crate::AppState;

pub const PREFIX: &str = "/v1/passthrough";
/// The route label passthrough requests carry in metrics.
pub const ROUTE: &str = "/v1/passthrough/{*path}";
const PICA_CONNECTION_KEY: HeaderName = HeaderName::from_static("x-pica-connection-key");
const KEYWAY_CONNECTION_KEY: HeaderName = HeaderName::from_static("x-keyway-connection-key");
const PICA_ACTION_ID: HeaderName = HeaderName::from_static("x-pica-action-id");
const KEYWAY_ACTION_ID: HeaderName = HeaderName::from_static("x-keyway-action-id");

/// The methods passthrough relays (those of catalogued actions, pica-compat §10).
const RELAYED_METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Any other method (TRACE, CONNECT, HEAD, OPTIONS…): 405 with `Allow`, as the router answers elsewhere.
fn method_not_allowed() -> Response {
    let mut response = ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED).into_response();
    response.headers_mut().insert(
        axum::http::header::ALLOW,
        axum::http::HeaderValue::from_static("GET,POST,PUT,PATCH,DELETE"),
    );
    response
}

/// Whether `path` is served by [`serve`] rather than the router.
pub fn is_passthrough(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Passthrough's own entry, ahead of the router: the hot path skips routing and the middleware stack but
/// does what that stack does for every other route — a request id on the response and in a log span, the
/// one JSON error shape, panics turned into a 500, metrics under the route's template.
pub async fn serve(state: AppState, request: Request) -> Response {
    let id = crate::request_id::new_id();
    let started = Instant::now();
    let method = request.method().clone();
    // The connection and platform are filled in once known, so the one "request finished" line says
    // which connection the request used.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        path = %request.uri().path(),
        connection = tracing::field::Empty,
        platform = tracing::field::Empty,
    );
    let handled =
        std::panic::AssertUnwindSafe(forward(state.clone(), RequestId(id.clone()), request))
            .catch_unwind()
            .instrument(span.clone())
            .await;
    let response = match handled {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => error.into_response(),
        Err(panic) => crate::error::panic_response(panic),
    };
    let response = crate::request_id::finish(response, &id, &span, started);
    state.metrics.observe(
        &method,
        std::borrow::Cow::Borrowed(ROUTE),
        response.status(),
        started,
    );
    response
}

/// Call the platform's API as the connection (any of GET, POST, PUT, PATCH, DELETE).
#[utoipa::path(get, path = "/v1/passthrough/{path}", tag = "passthrough", operation_id = "passthrough_get",
    security(("secretKey" = [])),
    params(
        ("path" = String, Path, description = "The platform API's own path, e.g. users/me/profile"),
        ("x-pica-connection-key" = String, Header, description = "The connection's key (or x-keyway-connection-key)"),
        ("x-pica-action-id" = Option<String>, Header, description = "The action's systemId (or x-keyway-action-id)",
            pattern = "^conn_mod_def::[A-Za-z0-9_-]{11}::[A-Za-z0-9_-]{22}$")),
    responses(
        (status = 200, description = "The platform's response, streamed: any status, its headers and body"),
        (status = 400, description = "Missing connection key, bad path, unknown or mismatched action, or no action id where the environment requires one", body = crate::error::ErrorResponse),
        (status = 401, description = "`unauthorized`: no valid secret key. `reconnect_required`: the connection's authorization was revoked or expired at the platform (its state is `failed`); have the user reconnect", body = crate::error::ErrorResponse),
        (status = 403, description = "Egress refused", body = crate::error::ErrorResponse),
        (status = 404, description = "Unknown connection key", body = crate::error::ErrorResponse),
        (status = 413, description = "The request body is larger than passthrough_max_body_bytes", body = crate::error::ErrorResponse),
        (status = 429, description = "Over the secret key's rate limit (Retry-After)", body = crate::error::ErrorResponse),
        (status = 502, body = crate::error::ErrorResponse),
        (status = 504, body = crate::error::ErrorResponse)))]
pub async fn forward(
    state: AppState,
    request_id: RequestId,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    if !RELAYED_METHODS.contains(request.method()) {
        return Ok(method_not_allowed());
    }
    let (mut parts, body) = request.into_parts();
    let SecretKeyAuth(principal) = SecretKeyAuth::from_request_parts(&mut parts, &state).await?;
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let path = match uri.path().strip_prefix(PREFIX) {
        Some("") | None => "/",
        Some(p) => p,
    };
    let key =
        header_pair(&headers, &PICA_CONNECTION_KEY, &KEYWAY_CONNECTION_KEY)?.ok_or_else(|| {
            ApiError::bad_request(
                "missing_connection_key",
                "Connection header not found: send the connection's key in x-pica-connection-key",
            )
        })?;
    let action_id = header_pair(&headers, &PICA_ACTION_ID, &KEYWAY_ACTION_ID)?;
    let broker = &state.broker;
    let resolved = broker
        .resolve_connection_key(&principal.project_id, principal.environment, key)
        .await?;
    // Checked against the connection itself: an unknown key is a 404 whatever the action id says.
    if let Some(action) = action_id {
        broker.check_passthrough_action(
            &resolved.connection.platform,
            action,
            method.as_str(),
            path,
        )?;
    } else if principal.settings.require_action_ids {
        return Err(ApiError::bad_request(
            "action_id_required",
            "This environment requires an action id on every passthrough request: send the action's id (its systemId in /v1/available-actions) in x-pica-action-id (or x-keyway-action-id)",
        ));
    }
    let span = tracing::Span::current();
    if !span.is_disabled() {
        span.record("connection", resolved.connection.id.as_str());
        span.record("platform", resolved.connection.platform.as_str());
    }
    let mut prepared = broker.prepare_passthrough(resolved, path, uri.query(), &headers)?;

    let content_length = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = state.settings.passthrough_max_body_bytes;
    if content_length.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE));
    }
    let chunked = headers.contains_key(axum::http::header::TRANSFER_ENCODING);
    let bodiless = !chunked && content_length.unwrap_or(0) == 0;
    let idle = broker.proxy_settings().idle_timeout;
    let bytes_in = Arc::new(AtomicU64::new(0));
    let counted_in = bytes_in.clone();
    let over_limit = Arc::new(AtomicBool::new(false));
    let flag = over_limit.clone();
    let upload = (!bodiless).then(|| {
        // A chunked body is cut off once it passes the limit: the upload fails and the caller gets a 413.
        let limited = Body::new(http_body_util::Limited::new(body, limit));
        let counted = limited
            .into_data_stream()
            .inspect(move |chunk| match chunk {
                Ok(chunk) => {
                    counted_in.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
                Err(e) if crate::extract::is_length_limit(e) => flag.store(true, Ordering::Relaxed),
                Err(_) => {}
            });
        client::streamed(idle_limited(counted, idle))
    });
    let connection = prepared.resolved.clone();
    let connection = &connection.connection;
    let entry = |status: u16| RequestLog {
        id: keyway_core::id::time_ordered("log"),
        project_id: principal.project_id.clone(),
        environment: principal.environment,
        request_id: request_id.0.clone(),
        connection_id: connection.id.clone(),
        connection_key: connection.key.as_str().to_owned(),
        platform: connection.platform.clone(),
        action_id: action_id.map(str::to_owned),
        method: method.as_str().to_owned(),
        path: loggable_path(path, uri.query()),
        status,
        latency_ms: 0,
        bytes_in: 0,
        bytes_out: 0,
        created_at: Timestamp::now(),
    };
    let mut upstream = match broker
        .send_passthrough(&mut prepared, method.clone(), content_length, upload)
        .await
    {
        Ok(response) => response,
        Err(e) => {
            let error = if over_limit.load(Ordering::Relaxed) {
                ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                ApiError::from(e)
            };
            let mut failed = entry(error.status.as_u16());
            failed.latency_ms = started.elapsed().as_millis() as i64;
            failed.bytes_in = bytes_in.load(Ordering::Relaxed) as i64;
            broker.request_log.record(failed);
            return Err(error);
        }
    };

    let oauth = connection.refreshable();
    if upstream.status() == StatusCode::UNAUTHORIZED && bodiless && oauth {
        // Maybe the token was revoked early or expired: refresh once and retry; else return the 401.
        // Boxed, like every cold path here: it keeps the request's future small.
        let refreshed = Box::pin(broker.refresh_after_unauthorized(
            &principal.project_id,
            principal.environment,
            &prepared.resolved,
        ));
        if let Ok(resolved) = refreshed.await {
            let mut retry = broker.prepare_passthrough(resolved, path, uri.query(), &headers)?;
            upstream = broker
                .send_passthrough(&mut retry, method.clone(), None, None)
                .await?;
        }
    }

    let status = upstream.status();
    let (mut upstream, upstream_body) = upstream.into_parts();
    // Our x-request-id replaces any the platform sent: `serve` sets it on every response (`finish`).
    remove_hop_by_hop(&mut upstream.headers);
    let logged = LoggedBody {
        inner: Box::pin(idle_limited(client::data_stream(upstream_body), idle)),
        bytes_out: 0,
        bytes_in,
        started,
        entry: Some(entry(status.as_u16())),
        logger: broker.request_log.clone(),
    };
    let mut response = Response::new(Body::from_stream(logged));
    *response.status_mut() = status;
    *response.headers_mut() = upstream.headers;
    response.extensions_mut().insert(KeepBody);
    Ok(response)
}

/// Ends a body stream with an error when no chunk arrives for `idle`; stops after the first error.
fn idle_limited<S, E>(stream: S, idle: Duration) -> IdleLimited<S>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    IdleLimited {
        inner: Box::pin(stream),
        idle,
        timer: None,
        last_chunk: tokio::time::Instant::now(),
        done: false,
    }
}

/// The idle timer is armed only when the body first has to wait (a small body that is already here never
/// touches the timer wheel) and is reset only when it fires early, not on every chunk.
struct IdleLimited<S> {
    inner: Pin<Box<S>>,
    idle: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    last_chunk: tokio::time::Instant,
    done: bool,
}

impl<S, E> Stream for IdleLimited<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if self.timer.is_some() {
                    self.last_chunk = tokio::time::Instant::now();
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(std::io::Error::other(e))))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let idle = self.idle;
                if self.timer.is_none() {
                    let now = tokio::time::Instant::now();
                    self.last_chunk = now;
                    self.timer = Some(Box::pin(tokio::time::sleep_until(now + idle)));
                }
                let deadline = self.last_chunk + idle;
                let this = &mut *self;
                let Some(timer) = this.timer.as_mut() else {
                    return Poll::Pending;
                };
                loop {
                    match timer.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(()) if tokio::time::Instant::now() >= deadline => {
                            this.done = true;
                            return Poll::Ready(Some(Err(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "body stalled",
                            ))));
                        }
                        // Chunks came since the timer was set: move it to the real deadline.
                        Poll::Ready(()) => timer.as_mut().reset(deadline),
                    }
                }
            }
        }
    }
}

/// The response body on its way out: counts bytes and, when it ends (or the client goes away), records
/// the request log entry with the final sizes and duration.
struct LoggedBody {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>,
    bytes_out: u64,
    bytes_in: Arc<AtomicU64>,
    started: Instant,
    entry: Option<RequestLog>,
    logger: RequestLogger,
}

impl Stream for LoggedBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.bytes_out += chunk.len() as u64;
        }
        polled
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            entry.latency_ms = self.started.elapsed().as_millis() as i64;
            entry.bytes_in = self.bytes_in.load(Ordering::Relaxed) as i64;
            entry.bytes_out = self.bytes_out as i64;
            self.logger.record(entry);
        }
    }
}

/// The path with query parameter names but never their values: `/users?limit=&q=`.
fn loggable_path(path: &str, query: Option<&str>) -> String {
    match query.filter(|q| !q.is_empty()) {
        None => path.to_owned(),
        Some(q) => {
            let names: Vec<String> = form_urlencoded::parse(q.as_bytes())
                .map(|(k, _)| format!("{k}="))
                .collect();
            format!("{path}?{}", names.join("&"))
        }
    }
}
