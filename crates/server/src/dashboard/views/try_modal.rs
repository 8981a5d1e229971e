//! "Try the modal": the real connect modal, opened from the dashboard for a test identity, exactly as
//! end users see it (the environment's enabled integrations, its branding). Its token endpoint is the
//! dashboard's own: an editor's session and CSRF header instead of a secret key, the same reply as
//! `POST /v1/authkit`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::dashboard::chrome::{render, Chrome, FlashCookie, Frame};
use crate::dashboard::session::{Editor, Signed};
use crate::routes::authkit::{session_reply, AuthkitRequest};
use crate::AppState;

#[derive(Template)]
#[template(path = "try_modal.html")]
struct TryPage {
    chrome: Chrome,
    enabled: usize,
}

/// `GET /dashboard/{project}/{env}/try`
pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "try", "Try the modal", flash);
    let enabled = match state.broker.enabled_integrations(&project.id, env).await {
        Ok(i) => i.len(),
        Err(e) => return crate::dashboard::problem::broker_problem(e),
    };
    let page = TryPage { chrome, enabled };
    render(&page.chrome, &page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct TokenQuery {
    identity: Option<String>,
    #[serde(rename = "identityType")]
    identity_type: Option<String>,
}

/// `POST /dashboard/{project}/{env}/try/token`: what the modal calls for its session token. Checked
/// like every dashboard change: an editor's session, the CSRF token (in `x-csrf-token`, as the modal
/// sends the host's headers), never cross-site.
pub async fn token(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    axum::Extension(request_id): axum::Extension<crate::request_id::RequestId>,
) -> Response {
    let presented = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site || !state.broker.csrf_matches(&signed.token, presented) {
        return json_error(
            StatusCode::FORBIDDEN,
            "This page has expired: reload it and try again.",
        );
    }
    let (project, env) = (&frame.project.id, frame.env);
    let body = AuthkitRequest {
        identity: q.identity,
        identity_type: q.identity_type,
        group: None,
        label: None,
    };
    match session_reply(&state, project, env, &body, request_id.0).await {
        Ok(reply) => {
            let mut response = axum::Json(reply).into_response();
            crate::dashboard::page::harden(&mut response, None);
            response
        }
        Err(e) => json_error(e.status, &e.message),
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response();
    crate::dashboard::page::harden(&mut response, None);
    response
}
