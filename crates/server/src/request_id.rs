//! Gives every request an id (`x-request-id` on the response, `request_id` on every log line) and turns
//! every error response into the one JSON shape carrying that id. Headers are never logged.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::error::{self, ApiError, ErrorBody};

pub const HEADER: &str = "x-request-id";

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Marks a response whose error body must reach the client untouched (e.g. an upstream's own error).
#[derive(Debug, Clone, Copy)]
pub struct KeepBody;

/// A new request id: `req_` and a time-ordered UUID.
pub fn new_id() -> String {
    keyway_core::id::time_ordered("req")
}

pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = new_id();
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    finish(response, &id, &span, started)
}

/// What every response gets on its way out: errors in the one JSON shape, the `x-request-id` header,
/// a "request finished" log line in the request's span.
pub fn finish(response: Response, id: &str, span: &tracing::Span, started: Instant) -> Response {
    let mut response = shape_error(response, id);
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        // The body we refused may still be arriving: tell the client this connection ends here (it is
        // then closed lingering, `listen`), rather than leave it to find out from a reset.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(HEADER, value);
    }
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        )
    });
    response
}

fn shape_error(response: Response, request_id: &str) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<KeepBody>().is_some()
    {
        return response;
    }
    let body = match response.extensions().get::<ErrorBody>() {
        Some(body) => body.clone(),
        None => {
            let e = ApiError::from_status(status);
            ErrorBody {
                code: e.code,
                message: e.message,
                details: None,
            }
        }
    };
    let mut shaped = error::render(status, &body, request_id);
    // Keep meaningful headers of the original (Allow, Retry-After, WWW-Authenticate…), not its body's.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}
