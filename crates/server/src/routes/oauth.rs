//! OAuth from the browser's side: the modal asks where to send the user (`start`, AuthKit session), the
//! provider sends the user back to the callback, which finishes the connection and tells the modal
//! (postMessage to the opener with Keyway's own origin as target, and a BroadcastChannel), then closes.
//! `redirect_uri` is always `{public_url}/connections/oauth/callback`, from configuration.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keyway_broker::oauth::authorize::CallbackOutcome;
use keyway_catalog::platform::Platform;
use serde::{Deserialize, Serialize};

use crate::auth::AuthkitSessionAuth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::request_id::KeepBody;
use crate::routes::session::link_record;
use crate::AppState;

pub const CALLBACK_PATH: &str = "/connections/oauth/callback";

pub fn redirect_uri(state: &AppState) -> String {
    format!("{}{CALLBACK_PATH}", state.settings.public_url)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthStart {
    pub platform: String,
    /// Non-secret connection fields the platform needs before authorizing (e.g. a subdomain); values
    /// that do not fit the platform's form are a 422.
    #[serde(default)]
    #[schema(schema_with = crate::input_schema::form_values)]
    pub form_data: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthStarted {
    /// Open this in the popup.
    pub authorize_url: String,
    /// Ask `GET /v1/authkit/oauth/result/{attemptId}` for the outcome when the popup cannot report it.
    pub attempt_id: String,
}

/// Start connecting an OAuth integration for the session's identity.
#[utoipa::path(post, path = "/v1/authkit/oauth/start", tag = "authkit session", operation_id = "modal_start_oauth",
    security(("authkitSession" = [])),
    request_body = OAuthStart,
    responses(
        (status = 200, body = OAuthStarted),
        (status = 400, description = "Malformed body", body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse),
        (status = 403, description = "Integration not enabled", body = crate::error::ErrorResponse),
        (status = 404, description = "Unknown platform", body = crate::error::ErrorResponse),
        (status = 409, description = "oauth_app_missing: the environment has no OAuth app for the platform yet", body = crate::error::ErrorResponse),
        (status = 422, description = "not_oauth, or form values the platform does not take (invalid_form)", body = crate::error::ErrorResponse)))]
pub async fn start(
    State(state): State<AppState>,
    AuthkitSessionAuth(session): AuthkitSessionAuth,
    ApiJson(body): ApiJson<OAuthStart>,
) -> Result<Json<OAuthStarted>, ApiError> {
    let started = state
        .broker
        .start_oauth(
            &session,
            &body.platform,
            body.form_data,
            &redirect_uri(&state),
        )
        .await?;
    Ok(Json(OAuthStarted {
        authorize_url: started.authorize_url,
        attempt_id: started.attempt_id,
    }))
}

/// How the session's OAuth attempt ended, for a modal the provider's callback page could not reach (a
/// provider whose opener policy severs the popup from the modal): `{"status":"pending"}` until it has,
/// then `{"status":"done","result":…}` with what the callback page reported.
#[utoipa::path(get, path = "/v1/authkit/oauth/result/{attemptId}", tag = "authkit session", operation_id = "modal_oauth_result",
    security(("authkitSession" = [])),
    params(("attemptId" = String, Path, description = "From the start response")),
    responses(
        (status = 200, description = "pending, or done with the callback's result", body = Object),
        (status = 401, body = crate::error::ErrorResponse)))]
pub async fn result(
    State(state): State<AppState>,
    AuthkitSessionAuth(session): AuthkitSessionAuth,
    axum::extract::Path(attempt_id): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let found = if attempt_id.len() <= 128 {
        state.broker.oauth_result(&session, &attempt_id).await?
    } else {
        None
    };
    Ok(Json(
        match found.and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok()) {
            Some(result) => serde_json::json!({"status": "done", "result": result}),
            None => serde_json::json!({"status": "pending"}),
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// The provider's issuer (RFC 9207), checked against the platform's when the catalog names one.
    iss: Option<String>,
}

/// The OAuth provider's redirect target: a page for the popup that reports the outcome to the modal.
///
/// Always a small page, whatever happened; the same report is recorded for the session that started the
/// attempt (the modal asks for it when the page cannot reach it). The page's status is the outcome's, as
/// the API would answer it, so logs, metrics and monitors count a refused callback as a failure.
#[utoipa::path(get, path = "/connections/oauth/callback", tag = "oauth", operation_id = "oauth_callback",
    params(
        ("state" = Option<String>, Query, description = "The state Keyway sent to the provider (single use)"),
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("error" = Option<String>, Query, description = "The provider's error instead of a code, e.g. access_denied"),
        ("error_description" = Option<String>, Query),
        ("iss" = Option<String>, Query, description = "The provider's issuer (RFC 9207)")),
    responses(
        (status = 200, description = "Connected: a page that reports the new connection to the modal (postMessage) and closes", content_type = "text/html"),
        (status = 400, description = "A page reporting `invalid_state` (missing, forged, replayed or expired state; nothing is exchanged) or `issuer_mismatch`", content_type = "text/html"),
        (status = 403, description = "A page reporting `access_denied` (the provider answered with an error, e.g. the user declined) or `integration_disabled`", content_type = "text/html"),
        (status = 502, description = "A page reporting `oauth_exchange_failed`: the provider did not exchange the code for tokens", content_type = "text/html"),
        (status = 500, description = "A page reporting `internal`", content_type = "text/html")))]
pub async fn callback(State(state): State<AppState>, Query(q): Query<CallbackQuery>) -> Response {
    let (status, message) = finish(&state, &q).await;
    let mut response = page(&state.settings.public_url, &message);
    *response.status_mut() = status;
    // The page is the answer whatever the status: it must reach the popup as HTML, not as the API's
    // JSON error.
    response.extensions_mut().insert(KeepBody);
    response
}

async fn finish(state: &AppState, q: &CallbackQuery) -> (StatusCode, serde_json::Value) {
    let failed = |e: ApiError| {
        tracing::info!(code = e.code, "oauth callback failed");
        (
            e.status,
            serde_json::json!({"source": "keyway-oauth", "ok": false, "code": e.code, "message": e.message}),
        )
    };
    let Some(oauth_state) = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 512)
    else {
        return failed(keyway_broker::error::BrokerError::OAuthStateInvalid.into());
    };
    let outcome = match (&q.code, &q.error) {
        (_, Some(error)) => CallbackOutcome::Error {
            error,
            description: q.error_description.as_deref(),
        },
        (Some(code), None) if !code.is_empty() => CallbackOutcome::Code(code),
        _ => CallbackOutcome::Error {
            error: "invalid_request",
            description: Some("the provider sent neither a code nor an error"),
        },
    };
    let finished = state
        .broker
        .finish_oauth(oauth_state, q.iss.as_deref(), outcome, &redirect_uri(state))
        .await;
    let (status, message) = match finished.outcome {
        Ok(connection) => {
            let oauth = state
                .broker
                .catalog
                .get(&connection.platform)
                .is_some_and(Platform::is_oauth);
            (
                StatusCode::OK,
                serde_json::json!({"source": "keyway-oauth", "ok": true, "connection": link_record(&connection, oauth)}),
            )
        }
        Err(e) => failed(e.into()),
    };
    if let Some(attempt) = &finished.attempt {
        if let Err(e) = state
            .broker
            .record_oauth_result(attempt, &message.to_string())
            .await
        {
            tracing::warn!(error = %e, "could not record an oauth attempt's outcome");
        }
    }
    (status, message)
}

/// The popup page: tells the opener (Keyway's origin only) and any same-origin listener, then closes.
fn page(public_url: &str, message: &serde_json::Value) -> Response {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let origin = url_origin(public_url);
    // `<` escaped so the JSON cannot close the script element.
    let data = message.to_string().replace('<', "\\u003c");
    let ok = message["ok"].as_bool().unwrap_or(false);
    let text = if ok {
        "Connected. You can close this window.".to_owned()
    } else {
        html_escape(message["message"].as_str().unwrap_or("Connecting failed."))
    };
    let title = if ok { "Connected" } else { "Could not connect" };
    let body = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style nonce="{nonce}">body{{font:16px/1.5 system-ui,sans-serif;display:grid;place-items:center;min-height:100vh;margin:0;color:#1f2937;background:#f9fafb}}main{{max-width:28rem;padding:2rem;text-align:center}}h1{{font-size:1.25rem}}</style></head>
<body><main><h1>{title}</h1><p id="status" role="status">{text}</p></main>
<script type="application/json" id="keyway-result">{data}</script>
<script nonce="{nonce}">(function(){{var msg=JSON.parse(document.getElementById("keyway-result").textContent);
try{{if(window.opener){{window.opener.postMessage(msg,{origin});}}}}catch(e){{}}
try{{var ch=new BroadcastChannel("keyway-oauth");ch.postMessage(msg);ch.close();}}catch(e){{}}
setTimeout(function(){{window.close();}},{delay});}})();</script></body></html>"#,
        origin = serde_json::Value::String(origin),
        delay = if ok { 300 } else { 2500 },
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::X_FRAME_OPTIONS, "DENY".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                format!("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; frame-ancestors 'none'"),
            ),
        ],
        body,
    )
        .into_response()
}

fn url_origin(url: &str) -> String {
    // `scheme://host[:port]` of the configured public URL.
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => url[..after_scheme + i].to_owned(),
        None => url.to_owned(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
