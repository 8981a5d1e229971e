//! Keys: the environment's secret keys (name, hint, created, last used, revoked), creating one (shown
//! once, never again), revoking one, and checking whether a pasted key is valid and whose it is (always
//! the same time to answer, nothing else shown).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyway_core::project::SecretKeyRecord;
use serde::Deserialize;

use super::format::When;
use crate::dashboard::chrome::{render, Chrome, Flash, FlashCookie, Frame};
use crate::dashboard::form::Submitted;
use crate::dashboard::page::see_other;
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::{Editor, Signed};
use crate::AppState;

pub struct Row {
    pub id: String,
    pub name: String,
    pub hint: String,
    pub created: When,
    pub last_used: Option<When>,
    pub revoked: Option<When>,
}

fn row(k: &SecretKeyRecord) -> Row {
    Row {
        id: k.id.to_string(),
        name: k.name.clone().unwrap_or_default(),
        hint: k.hint.clone(),
        created: When::of(k.created_at),
        last_used: k.last_used_at.map(When::of),
        revoked: k.revoked_at.map(When::of),
    }
}

/// What checking a pasted key found.
pub struct CheckResult {
    pub valid: bool,
    pub text: String,
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    chrome: Chrome,
    rows: Vec<Row>,
    check: Option<CheckResult>,
    name_error: Option<String>,
}

async fn keys_page(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    frame: &Frame,
    check: Option<CheckResult>,
    name_error: Option<String>,
) -> Response {
    let (chrome, project, env) = frame.chrome(signed, "keys", "Keys", flash);
    let keys = match state.broker.keys.list(Some(&project.id)).await {
        Ok(k) => k,
        Err(e) => return broker_problem(e),
    };
    let mut rows: Vec<Row> = keys
        .iter()
        .filter(|k| k.environment == env)
        .map(row)
        .collect();
    // Live keys first, newest first within each group.
    rows.reverse();
    rows.sort_by_key(|r| r.revoked.is_some());
    let status = if name_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = KeysPage {
        chrome,
        rows,
        check,
        name_error,
    };
    render(&page.chrome, &page, status)
}

/// `GET /dashboard/{project}/{env}/keys`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
) -> Response {
    keys_page(&state, &signed, flash, &frame, None, None).await
}

#[derive(Template)]
#[template(path = "key_created.html")]
struct CreatedPage {
    chrome: Chrome,
    key: String,
    name: String,
    hint: String,
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
}

/// `POST /dashboard/{project}/{env}/keys`: the new key is in this response only.
pub async fn create(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Submitted { form, .. }: Submitted<CreateForm>,
) -> Response {
    let (chrome, project_row, env_value) = frame.chrome(&signed, "keys", "New secret key", None);
    let name = Some(form.name).filter(|n| !n.trim().is_empty());
    match state
        .broker
        .keys
        .create(&project_row.id, env_value, name, &signed.actor())
        .await
    {
        Ok(minted) => {
            let page = CreatedPage {
                key: minted.key.expose().to_owned(),
                name: minted.record.name.clone().unwrap_or_default(),
                hint: minted.record.hint.clone(),
                chrome,
            };
            render(&page.chrome, &page, StatusCode::CREATED)
        }
        Err(keyway_broker::error::BrokerError::InvalidField { message, .. }) => {
            keys_page(&state, &signed, None, &frame, None, Some(message)).await
        }
        Err(e) => broker_problem(e),
    }
}

/// `POST /dashboard/{project}/{env}/keys/{id}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Path((_, _, id)): Path<(String, String, String)>,
    Submitted { .. }: Submitted<super::Nothing>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "keys", "", None);
    // Only a key of this project environment, whatever the id names.
    let owned = match state.broker.keys.list(Some(&project.id)).await {
        Ok(keys) => keys
            .into_iter()
            .any(|k| k.id.as_str() == id && k.environment == env),
        Err(e) => return broker_problem(e),
    };
    if !owned {
        return crate::dashboard::chrome::not_found();
    }
    match state.broker.keys.revoke(&id, &signed.actor()).await {
        Ok(record) => see_other(
            &chrome.url("keys"),
            Some(Flash::ok(format!(
                "Revoked {}. Requests with it are refused from now on, on every node.",
                record.hint
            ))),
        ),
        Err(e) => broker_problem(e),
    }
}

#[derive(Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    key: String,
}

/// `POST /dashboard/{project}/{env}/keys/check`: whether a pasted key is valid and for which project and
/// environment. Any role may check: it reveals nothing the key's holder does not know.
pub async fn check(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    Submitted { form, .. }: Submitted<CheckForm>,
) -> Response {
    let result = match state.broker.keys.check(form.key.trim()).await {
        Ok(Some(principal)) => {
            let project_name = state
                .broker
                .projects()
                .await
                .ok()
                .and_then(|ps| ps.into_iter().find(|p| p.id == principal.project_id))
                .map(|p| p.name)
                .unwrap_or_default();
            CheckResult {
                valid: true,
                text: format!(
                    "Valid: a {} key of project \"{project_name}\".",
                    principal.environment
                ),
            }
        }
        Ok(None) => CheckResult {
            valid: false,
            text: "Not a valid key: it is unknown, revoked or mistyped.".into(),
        },
        Err(e) => return broker_problem(e),
    };
    keys_page(&state, &signed, None, &frame, Some(result), None).await
}
