//! A fake platform API the tests run on loopback, and a custom catalog directory describing it:
//! `acme` (API key in `X-Api-Key`, test request `GET /me`) and `acme-oauth` (OAuth2, bearer token).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;

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
