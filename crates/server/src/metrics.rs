//! Prometheus metrics for this process, served at `/metrics`. One registry per app (tests run many apps in
//! one process). Labels use the matched route template, never the raw path, and the standard methods (any
//! other is `OTHER`), so cardinality stays bounded whatever clients send.

use std::borrow::Cow;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: Cow<'static, str>,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: Cow<'static, str>,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("keyway");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to produce response headers",
            durations.clone(),
        );
        Self {
            registry,
            requests,
            durations,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("could not encode metrics");
        }
        out
    }

    /// Counts a response and its time to headers under `method` and the route template. A static route
    /// is borrowed, not copied: on the passthrough hot path this runs for every request.
    pub fn observe(
        &self,
        method: &axum::http::Method,
        route: Cow<'static, str>,
        status: axum::http::StatusCode,
        started: Instant,
    ) {
        let method = method_label(method);
        self.durations
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status: status.as_u16(),
            })
            .inc();
    }
}

/// The method as a label: one of the standard methods, or `OTHER` (a client can send any token as a
/// method, and each distinct label would be a new series kept for the life of the process).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| Cow::Owned(p.as_str().to_owned()))
        .unwrap_or(Cow::Borrowed("unmatched"));
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .observe(&method, route, response.status(), started);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        let metrics = Metrics::new();
        let started = Instant::now();
        for name in ["FOO", "BAR", "PROPFIND"] {
            let method = axum::http::Method::from_bytes(name.as_bytes()).expect("a method token");
            metrics.observe(
                &method,
                Cow::Borrowed("/x"),
                axum::http::StatusCode::OK,
                started,
            );
        }
        metrics.observe(
            &axum::http::Method::GET,
            Cow::Borrowed("/x"),
            axum::http::StatusCode::OK,
            started,
        );
        let text = metrics.render();
        assert!(
            text.contains(
                r#"keyway_http_requests_total{method="OTHER",route="/x",status="200"} 3"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"keyway_http_requests_total{method="GET",route="/x",status="200"} 1"#),
            "{text}"
        );
        assert!(
            !text.contains("FOO") && !text.contains("PROPFIND"),
            "{text}"
        );
    }
}
