//! A fake platform API the tests run on loopback, and a custom catalog directory describing it:
//! `acme` (API key in `X-Api-Key`, test request `GET /me`) and `acme-oauth` (OAuth2, bearer token).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use futures_util::StreamExt;

pub const GOOD_KEY: &str = "acme_good";
pub const GOOD_TOKEN: &str = "tok_good";

#[derive(Clone)]
pub struct FakePlatform {
    pub port: u16,
    pub calls: Arc<AtomicUsize>,
}

impl FakePlatform {
    pub async fn start() -> Self {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = Router::new().route(
            "/me",
            get(move |headers: HeaderMap| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
                    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if key == Some(GOOD_KEY) || bearer == Some(&format!("Bearer {GOOD_TOKEN}")) {
                        (StatusCode::OK, r#"{"id":"me"}"#)
                    } else {
                        (StatusCode::UNAUTHORIZED, r#"{"error":"bad credentials"}"#)
                    }
                }
            }),
        );
        let app = app.merge(upstream_routes(calls.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { port, calls }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Writes `platforms/acme.toml`, `platforms/acme-oauth.toml` and their logos under `dir`.
    pub fn write_catalog(&self, dir: &Path) {
        let port = self.port;
        std::fs::create_dir_all(dir.join("platforms")).expect("mkdir");
        std::fs::create_dir_all(dir.join("logos")).expect("mkdir");
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#3b82f6"/></svg>"##;
        std::fs::write(dir.join("logos/acme.svg"), svg).expect("logo");
        std::fs::write(dir.join("logos/acme-oauth.svg"), svg).expect("logo");
        std::fs::write(
            dir.join("platforms/acme.toml"),
            format!(
                r#"slug = "acme"
name = "Acme CRM"
category = "CRM"
description = "Local fake API used by the tests."
logo = "acme.svg"
docs_url = "https://example.com/docs"
base_url = "http://127.0.0.1:{port}"
internal = true

[auth]
kind = "api_key"

[[fields]]
name = "apiKey"
label = "API key"
placeholder = "acme_…"
secret = true
pattern = "^acme_[a-z0-9]+$"

[[fields]]
name = "region"
label = "Region"
secret = false
required = false

[inject]
headers = {{ "X-Api-Key" = "{{{{apiKey}}}}" }}

[test_request]
method = "GET"
path = "/me"
expect_status = [200]
"#
            ),
        )
        .expect("acme.toml");
        std::fs::write(
            dir.join("platforms/acme-oauth.toml"),
            format!(
                r#"slug = "acme-oauth"
name = "Acme OAuth"
category = "CRM"
description = "Local fake OAuth API used by the tests."
logo = "acme-oauth.svg"
docs_url = "https://example.com/docs"
base_url = "http://127.0.0.1:{port}"
internal = true

[auth]
kind = "oauth2_authorization_code"

[auth.oauth2]
authorize_url = "http://127.0.0.1:{port}/authorize"
token_url = "http://127.0.0.1:{port}/token"
default_scopes = ["read"]
pkce = true

[test_request]
method = "GET"
path = "/me"
expect_status = [200]
"#
            ),
        )
        .expect("acme-oauth.toml");
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(GOOD_KEY)
}

/// What the passthrough tests call: echo, content types, statuses, slowness, streams, uploads (read at once,
/// slowly, or followed by silence), redirects.
fn upstream_routes(calls: Arc<AtomicUsize>) -> Router {
    let echo = move |method: Method, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            if !authorized(&headers) {
                return (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(serde_json::json!({"error": "no key"})),
                )
                    .into_response();
            }
            let headers: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").into()))
                .collect();
            axum::Json(serde_json::json!({
                "method": method.as_str(), "path": uri.path(), "query": uri.query(),
                "headers": headers, "bodyLen": body.len(), "body": String::from_utf8_lossy(&body),
            }))
            .into_response()
        }
    };
    Router::new()
        .route("/echo", any(echo.clone()))
        .route("/echo/{*rest}", any(echo))
        .route(
            "/csv",
            get(|| async {
                (
                    [
                        ("content-type", "text/csv; charset=utf-8"),
                        ("x-upstream", "yes"),
                        ("x-request-id", "the-platforms-own-id"),
                    ],
                    "a,b\n1,2\n",
                )
            }),
        )
        .route(
            "/status/{code}",
            get(|UrlPath(code): UrlPath<u16>| async move {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
                (
                    status,
                    [("content-type", "application/json")],
                    r#"{"error":"upstream says no"}"#,
                )
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route(
            "/stall",
            get(|| async {
                let chunks = futures_util::stream::once(async {
                    Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"first;"))
                })
                .chain(futures_util::stream::once(async {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    Ok(axum::body::Bytes::from_static(b"never"))
                }));
                Response::new(Body::from_stream(chunks))
            }),
        )
        .route(
            "/big/{mib}",
            get(|UrlPath(mib): UrlPath<usize>| async move {
                let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
                let stream = futures_util::stream::iter(
                    (0..mib * 16).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                );
                Response::new(Body::from_stream(stream))
            }),
        )
        .route(
            "/upload",
            post(|body: Body| async move {
                let mut stream = body.into_data_stream();
                let mut total = 0usize;
                while let Some(Ok(chunk)) = stream.next().await {
                    total += chunk.len();
                }
                axum::Json(serde_json::json!({"received": total}))
            }),
        )
        .route(
            "/upload/slow",
            post(|body: Body| async move {
                // Takes its time over every chunk, like a platform writing an upload to slow storage.
                let mut stream = body.into_data_stream();
                let mut total = 0usize;
                while let Some(Ok(chunk)) = stream.next().await {
                    total += chunk.len();
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                axum::Json(serde_json::json!({"received": total}))
            }),
        )
        .route(
            "/upload/then-silence",
            post(|body: Body| async move {
                let mut stream = body.into_data_stream();
                while let Some(Ok(_)) = stream.next().await {}
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route(
            "/redirect",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [("location", "http://169.254.169.254/latest/meta-data")],
                    "",
                )
            }),
        )
}
