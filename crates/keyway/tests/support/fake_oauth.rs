//! A fake OAuth provider on loopback: `/authorize` (approves or denies at once, recording PKCE),
//! `/token` (authorization_code, refresh_token with rotation, client_credentials), `/me` (accepts only the
//! current access token). It can be told to refuse refreshes (`invalid_grant`) or fail (500), to give its
//! tokens any lifetime or none (`expires_in` left out), counts token calls, and writes the catalog file
//! `oauthco.toml` (plus `oauthcc.toml`, a client-credentials platform, and `actions/oauthco.json`, one
//! action: `GET /me`).
//! Like providers that implement RFC 9207, it names itself (`iss`) on every callback; it can be told to name
//! another issuer or none.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use sha2::Digest;

pub const CLIENT_ID: &str = "fake-client";
pub const CLIENT_SECRET: &str = "fake-client-secret-0001";
/// `expires_in` value meaning "leave it out of the reply".
const NO_EXPIRES_IN: i64 = i64::MIN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    InvalidGrant,
    ServerError,
}

/// What the fake sends as `iss` on its callbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Iss {
    Own,
    Absent,
    Other(String),
}

#[derive(Default)]
struct Inner {
    /// code → (redirect_uri, code_challenge)
    codes: HashMap<String, (String, Option<String>)>,
    /// The latest refresh token issued, and every one still valid (a used one is rotated away).
    current_refresh: Option<String>,
    valid_refresh: std::collections::HashSet<String>,
    valid_access: Vec<String>,
    last_authorize_query: HashMap<String, String>,
}

#[derive(Clone)]
pub struct FakeOAuth {
    pub port: u16,
    pub token_calls: Arc<AtomicUsize>,
    pub refresh_calls: Arc<AtomicUsize>,
    /// `expires_in` the next tokens get ([`NO_EXPIRES_IN`]: none).
    expires_in: Arc<AtomicI64>,
    mode: Arc<Mutex<Mode>>,
    deny: Arc<Mutex<bool>>,
    iss: Arc<Mutex<Iss>>,
    inner: Arc<Mutex<Inner>>,
    serial: Arc<AtomicUsize>,
}

impl FakeOAuth {
    pub async fn start() -> Self {
        // Bound first: the router's copy needs the port too (it names its issuer on callbacks).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let fake = FakeOAuth {
            port,
            token_calls: Arc::default(),
            refresh_calls: Arc::default(),
            expires_in: Arc::new(AtomicI64::new(3600)),
            mode: Arc::new(Mutex::new(Mode::Normal)),
            deny: Arc::new(Mutex::new(false)),
            iss: Arc::new(Mutex::new(Iss::Own)),
            inner: Arc::default(),
            serial: Arc::default(),
        };
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/me", get(me))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().expect("lock") = mode;
    }

    /// The lifetime (`expires_in`, seconds) of the tokens it issues from now on.
    pub fn set_expires_in(&self, seconds: i64) {
        self.expires_in.store(seconds, Ordering::SeqCst);
    }

    /// Tokens it issues from now on come without `expires_in` (their lifetime is not said).
    pub fn omit_expires_in(&self) {
        self.expires_in.store(NO_EXPIRES_IN, Ordering::SeqCst);
    }

    /// The issuer identifier it names on callbacks (and the catalog declares).
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn send_iss(&self, iss: Iss) {
        *self.iss.lock().expect("lock") = iss;
    }

    pub fn deny_next(&self, deny: bool) {
        *self.deny.lock().expect("lock") = deny;
    }

    pub fn token_calls(&self) -> usize {
        self.token_calls.load(Ordering::SeqCst)
    }

    pub fn refresh_calls(&self) -> usize {
        self.refresh_calls.load(Ordering::SeqCst)
    }

    /// Forgets every access token issued so far (as if the user revoked them at the provider).
    pub fn revoke_access_tokens(&self) {
        self.inner.lock().expect("lock").valid_access.clear();
    }

    pub fn last_authorize_query(&self) -> HashMap<String, String> {
        self.inner
            .lock()
            .expect("lock")
            .last_authorize_query
            .clone()
    }

    pub fn current_refresh_token(&self) -> Option<String> {
        self.inner.lock().expect("lock").current_refresh.clone()
    }

    pub fn write_catalog(&self, dir: &Path) {
        let port = self.port;
        std::fs::create_dir_all(dir.join("platforms")).expect("mkdir");
        std::fs::create_dir_all(dir.join("logos")).expect("mkdir");
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#10b981"/></svg>"##;
        for slug in ["oauthco", "oauthcc"] {
            std::fs::write(dir.join(format!("logos/{slug}.svg")), svg).expect("logo");
        }
        std::fs::write(
            dir.join("platforms/oauthco.toml"),
            format!(
                r#"slug = "oauthco"
name = "OAuth Co"
category = "Testing"
description = "Fake OAuth provider used by the tests."
logo = "oauthco.svg"
docs_url = "https://example.com/docs"
base_url = "http://127.0.0.1:{port}"
internal = true

[auth]
kind = "oauth2_authorization_code"

[auth.oauth2]
authorize_url = "http://127.0.0.1:{port}/authorize"
token_url = "http://127.0.0.1:{port}/token"
issuer = "http://127.0.0.1:{port}"
authorization_response_iss = true
default_scopes = ["read", "write"]
pkce = true
client_auth = "basic"
extra_authorize_params = {{ access_type = "offline" }}

[test_request]
method = "GET"
path = "/me"
"#
            ),
        )
        .expect("oauthco.toml");
        std::fs::write(
            dir.join("platforms/oauthcc.toml"),
            format!(
                r#"slug = "oauthcc"
name = "OAuth CC"
category = "Testing"
description = "Fake client-credentials platform used by the tests."
logo = "oauthcc.svg"
docs_url = "https://example.com/docs"
base_url = "http://127.0.0.1:{port}"
internal = true

[auth]
kind = "oauth2_client_credentials"

[auth.oauth2]
token_url = "http://127.0.0.1:{port}/token"
client_auth = "body"
client_id = "{{{{clientId}}}}"
client_secret = "{{{{clientSecret}}}}"

[[fields]]
name = "clientId"
label = "Client ID"
secret = false

[[fields]]
name = "clientSecret"
label = "Client secret"
secret = true

[test_request]
method = "GET"
path = "/me"
"#
            ),
        )
        .expect("oauthcc.toml");
        std::fs::create_dir_all(dir.join("actions")).expect("mkdir actions");
        std::fs::write(
            dir.join("actions/oauthco.json"),
            r#"{"platform": "oauthco", "actions": [
  {"title": "Read the profile", "method": "GET", "path": "/me", "tags": ["profile"]}
]}"#,
        )
        .expect("actions/oauthco.json");
    }

    fn issue(&self, with_refresh: bool) -> serde_json::Value {
        let n = self.serial.fetch_add(1, Ordering::SeqCst);
        let access = format!("at_{n}");
        let mut inner = self.inner.lock().expect("lock");
        inner.valid_access.push(access.clone());
        let mut reply = serde_json::json!({
            "access_token": access,
            "token_type": "Bearer",
            "scope": "read write",
        });
        let expires_in = self.expires_in.load(Ordering::SeqCst);
        if expires_in != NO_EXPIRES_IN {
            reply["expires_in"] = expires_in.into();
        }
        if with_refresh {
            let refresh = format!("rt_{n}");
            inner.current_refresh = Some(refresh.clone());
            inner.valid_refresh.insert(refresh.clone());
            reply["refresh_token"] = refresh.into();
        }
        reply
    }
}

async fn authorize(
    State(fake): State<FakeOAuth>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    fake.inner.lock().expect("lock").last_authorize_query = q.clone();
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    let iss = match &*fake.iss.lock().expect("lock") {
        Iss::Own => format!("&iss={}", encode(&fake.issuer())),
        Iss::Absent => String::new(),
        Iss::Other(other) => format!("&iss={}", encode(other)),
    };
    if *fake.deny.lock().expect("lock") {
        return Redirect::to(&format!(
            "{redirect}?error=access_denied&error_description=User+said+no&state={state}{iss}"
        ))
        .into_response();
    }
    let code = format!("code_{}", fake.serial.fetch_add(1, Ordering::SeqCst));
    fake.inner.lock().expect("lock").codes.insert(
        code.clone(),
        (redirect.clone(), q.get("code_challenge").cloned()),
    );
    Redirect::to(&format!("{redirect}?code={code}&state={state}{iss}")).into_response()
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn client_ok(headers: &HeaderMap, form: &HashMap<String, String>, id: &str, secret: &str) -> bool {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|raw| raw == format!("{id}:{secret}").as_bytes());
    basic.unwrap_or(false)
        || (form.get("client_id").map(String::as_str) == Some(id)
            && form.get("client_secret").map(String::as_str) == Some(secret))
}

async fn token(
    State(fake): State<FakeOAuth>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    fake.token_calls.fetch_add(1, Ordering::SeqCst);
    let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
    let bad = |error: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": error})),
        )
            .into_response()
    };
    if grant == "client_credentials" {
        if !client_ok(&headers, &form, "cc-id", "cc-secret") {
            return (
                StatusCode::UNAUTHORIZED,
                Json(serde_json::json!({"error": "invalid_client"})),
            )
                .into_response();
        }
        return Json(fake.issue(false)).into_response();
    }
    if !client_ok(&headers, &form, CLIENT_ID, CLIENT_SECRET) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    match grant {
        "authorization_code" => {
            let code = form.get("code").cloned().unwrap_or_default();
            let Some((redirect, challenge)) = fake.inner.lock().expect("lock").codes.remove(&code)
            else {
                return bad("invalid_grant");
            };
            if form.get("redirect_uri") != Some(&redirect) {
                return bad("invalid_grant");
            }
            if let Some(challenge) = challenge {
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(verifier.as_bytes()));
                if computed != challenge {
                    return bad("invalid_grant");
                }
            }
            Json(fake.issue(true)).into_response()
        }
        "refresh_token" => {
            fake.refresh_calls.fetch_add(1, Ordering::SeqCst);
            match *fake.mode.lock().expect("lock") {
                Mode::InvalidGrant => return bad("invalid_grant"),
                Mode::ServerError => {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
                }
                Mode::Normal => {}
            }
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            if !fake
                .inner
                .lock()
                .expect("lock")
                .valid_refresh
                .remove(&presented)
            {
                return bad("invalid_grant");
            }
            Json(fake.issue(true)).into_response()
        }
        _ => bad("unsupported_grant_type"),
    }
}

async fn me(State(fake): State<FakeOAuth>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if fake
        .inner
        .lock()
        .expect("lock")
        .valid_access
        .iter()
        .any(|t| t == token)
    {
        (StatusCode::OK, Json(serde_json::json!({"id": "me"}))).into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}
