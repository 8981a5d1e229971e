//! One connection: state, scopes, token expiry, last refresh and its outcome, editable tags, recent
//! requests and its history; Test (the platform's test request through the connection) and Delete (after
//! a confirmation naming whose connection it is).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyway_store::audit::AuditFilter;
use keyway_store::request_log_browse::LogBrowseFilter;
use serde::Deserialize;

use super::connections::{row, Row};
use super::format::When;
use crate::dashboard::chrome::{not_found, render, Chrome, Flash, FlashCookie, Frame};
use crate::dashboard::form::Submitted;
use crate::dashboard::page::see_other;
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::{Editor, Signed};
use crate::AppState;

pub struct LogRow {
    pub id: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub status_class: u16,
    pub latency_ms: i64,
    pub when: When,
}

pub struct Activity {
    pub when: When,
    pub what: String,
    pub who: String,
}

#[derive(Template)]
#[template(path = "connection.html")]
struct ConnectionPage {
    chrome: Chrome,
    c: Row,
    key: String,
    name: Option<String>,
    scopes: Option<String>,
    expires: Option<When>,
    refreshed: Option<When>,
    refresh_error: Option<String>,
    failures: i64,
    next_attempt: Option<When>,
    updated: When,
    fields: Vec<(String, String)>,
    tags_text: String,
    tags_error: Option<String>,
    logs: Vec<LogRow>,
    activity: Vec<Activity>,
    has_test: bool,
    oauth: bool,
}

/// `GET /dashboard/{project}/{env}/connections/{id}`
pub async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
    Path((_, _, id)): Path<(String, String, String)>,
) -> Response {
    detail_page(&state, &signed, flash, &frame, &id, None).await
}

async fn detail_page(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    frame: &Frame,
    id: &str,
    tags_failed: Option<(String, String)>,
) -> Response {
    let (chrome, project, env) = frame.chrome(signed, "connections", "Connection", flash);
    let broker = &state.broker;
    let c = match broker.connection_in(&project.id, env, id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return broker_problem(e),
    };
    let refresh = match broker.refresh_status(&project.id, env, id).await {
        Ok(r) => r,
        Err(e) => return broker_problem(e),
    };
    let logs = match broker
        .browse_request_logs(
            &project.id,
            env,
            &LogBrowseFilter {
                connection_id: Some(c.id.clone()),
                ..Default::default()
            },
            None,
            20,
        )
        .await
    {
        Ok((logs, _)) => logs,
        Err(e) => return broker_problem(e),
    };
    let events = match state
        .broker
        .audit_events(
            &AuditFilter {
                project_id: Some(project.id.clone()),
                target: Some(c.id.clone()),
                ..Default::default()
            },
            None,
            20,
        )
        .await
    {
        Ok((events, _)) => events,
        Err(e) => return broker_problem(e),
    };
    let mut activity: Vec<Activity> = events
        .iter()
        .map(|e| Activity {
            when: When::of(e.created_at),
            what: super::audit::describe(e),
            who: e.actor.label.clone(),
        })
        .collect();
    activity.push(Activity {
        when: When::of(c.created_at),
        what: format!("Connected {} for {}", c.platform, c.identity),
        who: "the user, or your backend".into(),
    });
    let platform = state.broker.catalog.get(&c.platform);
    let (tags_text, tags_error) = match tags_failed {
        Some((text, error)) => (text, Some(error)),
        None => (c.tags.join(", "), None),
    };
    let status = if tags_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let refresh = refresh.unwrap_or(keyway_store::connection_browse::RefreshStatus {
        refreshed_at: None,
        error: None,
        failures: 0,
        next_attempt_at: None,
    });
    let page = ConnectionPage {
        key: c.key.to_string(),
        name: c.name.clone(),
        scopes: c.oauth_scopes.clone(),
        expires: c.oauth_expires_at.map(When::of),
        refreshed: refresh.refreshed_at.map(When::of),
        refresh_error: refresh.error,
        failures: refresh.failures,
        next_attempt: refresh.next_attempt_at.map(When::of),
        updated: When::of(c.updated_at),
        fields: c
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        tags_text,
        tags_error,
        logs: logs
            .iter()
            .map(|l| LogRow {
                id: l.id.clone(),
                method: l.method.clone(),
                path: l.path.clone(),
                status: l.status,
                status_class: l.status / 100,
                latency_ms: l.latency_ms,
                when: When::of(l.created_at),
            })
            .collect(),
        activity,
        has_test: platform.is_some_and(|p| p.test_request().is_some()),
        oauth: platform.is_some_and(|p| p.is_oauth()),
        c: row(state, &c),
        chrome,
    };
    render(&page.chrome, &page, status)
}

#[derive(Deserialize)]
pub struct TagsForm {
    #[serde(default)]
    tags: String,
}

/// `POST /dashboard/{project}/{env}/connections/{id}/tags`: the API's tag rules (at most 32, each 1–64
/// characters, no commas).
pub async fn set_tags(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Path((_, _, id)): Path<(String, String, String)>,
    Submitted { form, .. }: Submitted<TagsForm>,
) -> Response {
    let (chrome, project_row, env_value) = frame.chrome(&signed, "connections", "", None);
    let tags: Vec<String> = form
        .tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    match state
        .broker
        .set_connection_tags(&project_row.id, env_value, &id, tags, &signed.actor())
        .await
    {
        Ok(_) => see_other(
            &chrome.url(&format!("connections/{id}")),
            Some(Flash::ok("Tags saved.")),
        ),
        Err(keyway_broker::error::BrokerError::InvalidInput(message)) => {
            detail_page(
                &state,
                &signed,
                None,
                &frame,
                &id,
                Some((form.tags, message)),
            )
            .await
        }
        Err(e) => broker_problem(e),
    }
}

/// `POST /dashboard/{project}/{env}/connections/{id}/test`
pub async fn test(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Path((_, _, id)): Path<(String, String, String)>,
    axum::Extension(request_id): axum::Extension<crate::request_id::RequestId>,
    Submitted { .. }: Submitted<super::Nothing>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "connections", "", None);
    let back = chrome.url(&format!("connections/{id}"));
    let flash = match state
        .broker
        .test_connection(&project.id, env, &id, &request_id.0)
        .await
    {
        Ok(Some(t)) if t.passed => Flash::ok(format!(
            "Test passed: {} {} answered {} in {} ms.",
            t.method, t.path, t.status, t.millis
        )),
        Ok(Some(t)) => Flash::error(format!(
            "Test failed: {} {} answered {} in {} ms, which the platform's test does not expect. The credentials may be wrong or revoked.",
            t.method, t.path, t.status, t.millis
        )),
        Ok(None) => Flash::error("This platform declares no test request, so there is nothing to run."),
        Err(keyway_broker::error::BrokerError::ConnectionNotFound) => return not_found(),
        Err(e) if is_internal(&e) => return broker_problem(e),
        Err(e) => Flash::error(format!("Test failed: {e}")),
    };
    see_other(&back, Some(flash))
}

fn is_internal(e: &keyway_broker::error::BrokerError) -> bool {
    use keyway_broker::error::BrokerError as E;
    matches!(
        e,
        E::Store(_) | E::Crypto(_) | E::WrongMasterKey { .. } | E::MasterKeyMissing { .. }
    )
}

#[derive(Template)]
#[template(path = "connection_delete.html")]
struct DeletePage {
    chrome: Chrome,
    c: Row,
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    confirmed: String,
}

/// `POST /dashboard/{project}/{env}/connections/{id}/delete`: without `confirmed=yes` (a page without
/// script), shows the confirmation first.
pub async fn delete(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Path((_, _, id)): Path<(String, String, String)>,
    Submitted { form, .. }: Submitted<DeleteForm>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "connections", "Delete connection", None);
    let c = match state.broker.connection_in(&project.id, env, &id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return broker_problem(e),
    };
    if form.confirmed != "yes" {
        let page = DeletePage {
            c: row(&state, &c),
            chrome,
        };
        return render(&page.chrome, &page, StatusCode::OK);
    }
    match state
        .broker
        .delete_connection(&project.id, env, &id, &signed.actor())
        .await
    {
        Ok(()) => see_other(
            &chrome.url("connections"),
            Some(Flash::ok(format!(
                "Deleted {}'s {} connection. Its credentials are gone; the app must connect again to use {}.",
                c.identity,
                row(&state, &c).platform_name,
                row(&state, &c).platform_name
            ))),
        ),
        Err(e) => broker_problem(e),
    }
}
