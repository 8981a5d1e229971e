//! Connections: search by identity (exact, or by prefix in identity order), filter by platform, identity
//! type, state and tags, page with keyset cursors (never OFFSET) over millions of rows; a detail page
//! with state, scopes, token expiry, last refresh, editable tags, recent requests and its history; Test
//! (the platform's test request through the connection) and Delete (after a confirmation naming whose
//! connection it is).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyway_core::connection::{Connection, ConnectionState};
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::timestamp::Timestamp;
use keyway_store::audit::AuditFilter;
use keyway_store::connection_browse::{BrowseCursor, BrowseFilter, IdentityMatch};
use keyway_store::request_log_browse::LogBrowseFilter;
use serde::Deserialize;

use super::format::{count, enc, with_amp, When};
use crate::dashboard::chrome::{not_found, render, Chrome, Flash, FlashCookie};
use crate::dashboard::form::Submitted;
use crate::dashboard::page::see_other;
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::{Editor, Signed};
use crate::AppState;

pub const PAGE_SIZE: u32 = 50;
/// Counts stop here ("10,000+"), so a count never walks a whole large table.
const COUNT_CAP: u32 = 10_000;

pub struct Row {
    pub id: String,
    pub identity: String,
    pub identity_type: &'static str,
    pub platform: String,
    pub platform_name: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub tags: Vec<String>,
    pub created: When,
}

pub fn state_label(s: ConnectionState) -> &'static str {
    match s {
        ConnectionState::Operational => "Operational",
        ConnectionState::Degraded => "Degraded",
        ConnectionState::Failed => "Needs reconnect",
        ConnectionState::Unknown => "Unknown",
    }
}

fn row(state: &AppState, c: &Connection) -> Row {
    Row {
        id: c.id.clone(),
        identity: c.identity.to_string(),
        identity_type: c.identity_type.as_str(),
        platform_name: state
            .broker
            .catalog
            .get(&c.platform)
            .map(|p| p.name().to_owned())
            .unwrap_or_else(|| c.platform.clone()),
        platform: c.platform.clone(),
        state: c.state.as_str(),
        state_label: state_label(c.state),
        tags: c.tags.clone(),
        created: When::of(c.created_at),
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    identity: String,
    /// `prefix` (default) or `exact`.
    #[serde(default, rename = "match")]
    matching: String,
    #[serde(default)]
    platform: String,
    #[serde(default, rename = "type")]
    identity_type: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    after: String,
}

impl ListQuery {
    fn filtered(&self) -> bool {
        !(self.identity.is_empty()
            && self.platform.is_empty()
            && self.identity_type.is_empty()
            && self.state.is_empty()
            && self.tags.is_empty())
    }

    /// The query string of this filter (without the cursor).
    fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("identity", &self.identity),
            ("match", &self.matching),
            ("platform", &self.platform),
            ("type", &self.identity_type),
            ("state", &self.state),
            ("tags", &self.tags),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", enc(v)));
            }
        }
        parts.join("&")
    }
}

/// The store's filter, or why the query cannot match anything.
fn browse_filter(q: &ListQuery) -> Result<BrowseFilter, String> {
    let identity = q.identity.trim();
    let identity = if identity.is_empty() {
        None
    } else {
        Identity::parse(identity).map_err(|e| format!("Identity: {e}"))?;
        Some(if q.matching == "exact" {
            IdentityMatch::Exact(identity.to_owned())
        } else {
            IdentityMatch::Prefix(identity.to_owned())
        })
    };
    let identity_type = match q.identity_type.as_str() {
        "" => None,
        t => Some(t.parse::<IdentityType>().map_err(|e| e.to_string())?),
    };
    let state = match q.state.as_str() {
        "" => None,
        s => Some(s.parse::<ConnectionState>()?),
    };
    let tags: Vec<String> = q
        .tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if tags.len() > 8 {
        return Err("Filter by at most 8 tags at once.".into());
    }
    Ok(BrowseFilter {
        identity,
        identity_type,
        platform: (!q.platform.is_empty()).then(|| q.platform.clone()),
        state,
        tags,
    })
}

/// `created|id` or `created|id|identity` (identities hold no `|`).
fn parse_cursor(raw: &str) -> Option<BrowseCursor> {
    let mut parts = raw.splitn(3, '|');
    let created = parts.next()?.parse::<i64>().ok()?;
    let id = parts.next()?.to_owned();
    Some(BrowseCursor {
        created_at: Timestamp::from_unix_millis(created),
        id,
        identity: parts.next().map(str::to_owned),
    })
}

fn cursor_text(c: &BrowseCursor) -> String {
    match &c.identity {
        Some(i) => format!("{}|{}|{i}", c.created_at.unix_millis(), c.id),
        None => format!("{}|{}", c.created_at.unix_millis(), c.id),
    }
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    q: ListQuery,
    platforms: Vec<(String, String)>,
    error: Option<String>,
    total: String,
    next: Option<String>,
    first_page: String,
    paged: bool,
    any_at_all: bool,
}

/// `GET /dashboard/{project}/{env}/connections`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    FlashCookie(flash): FlashCookie,
    Path((project, env)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Response {
    let (chrome, project, env) = match Chrome::load(
        &state,
        &signed,
        &project,
        &env,
        "connections",
        "Connections",
        flash,
    )
    .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let platforms: Vec<(String, String)> = state
        .broker
        .catalog
        .iter()
        .map(|p| (p.slug().as_str().to_owned(), p.name().to_owned()))
        .collect();
    let filter = browse_filter(&q);
    let (rows, next, total, error, status) = match &filter {
        Err(e) => (
            Vec::new(),
            None,
            0,
            Some(e.clone()),
            StatusCode::BAD_REQUEST,
        ),
        Ok(filter) => {
            let after = parse_cursor(&q.after);
            let store = &state.broker.store;
            let page = store
                .browse_connections(&project.id, env, filter, after.as_ref(), PAGE_SIZE)
                .await;
            let total = store
                .count_connections_up_to(&project.id, env, filter, COUNT_CAP + 1)
                .await;
            match (page, total) {
                (Ok((rows, more)), Ok(total)) => {
                    let next = if more {
                        rows.last()
                            .map(|c| cursor_text(&BrowseCursor::after(c, filter.by_identity())))
                    } else {
                        None
                    };
                    (rows, next, total, None, StatusCode::OK)
                }
                (Err(e), _) | (_, Err(e)) => return broker_problem(e.into()),
            }
        }
    };
    let total_text = if total > u64::from(COUNT_CAP) {
        format!("{}+", count(u64::from(COUNT_CAP)))
    } else {
        count(total)
    };
    let any_at_all = total > 0 || q.filtered();
    let page = ConnectionsPage {
        rows: rows.iter().map(|c| row(&state, c)).collect(),
        first_page: chrome.url(&format!("connections?{}", q.query())),
        next: next.map(|n| {
            chrome.url(&format!(
                "connections?{}after={}",
                with_amp(q.query()),
                enc(&n)
            ))
        }),
        paged: !q.after.is_empty(),
        total: total_text,
        error,
        platforms,
        any_at_all,
        q,
        chrome,
    };
    render(&page.chrome, &page, status)
}

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
    FlashCookie(flash): FlashCookie,
    Path((project, env, id)): Path<(String, String, String)>,
) -> Response {
    detail_page(&state, &signed, flash, &project, &env, &id, None).await
}

async fn detail_page(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    project: &str,
    env: &str,
    id: &str,
    tags_failed: Option<(String, String)>,
) -> Response {
    let (chrome, project, env) = match Chrome::load(
        state,
        signed,
        project,
        env,
        "connections",
        "Connection",
        flash,
    )
    .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let store = &state.broker.store;
    let c = match store.connection(&project.id, env, id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return broker_problem(e.into()),
    };
    let refresh = match store.connection_refresh_status(&project.id, env, id).await {
        Ok(r) => r,
        Err(e) => return broker_problem(e.into()),
    };
    let logs = match store
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
        Err(e) => return broker_problem(e.into()),
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
    Path((project, env, id)): Path<(String, String, String)>,
    Submitted { form, .. }: Submitted<TagsForm>,
) -> Response {
    let (chrome, project_row, env_value) =
        match Chrome::load(&state, &signed, &project, &env, "connections", "", None).await {
            Ok(c) => c,
            Err(r) => return r,
        };
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
                &project,
                &env,
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
    Path((project, env, id)): Path<(String, String, String)>,
    axum::Extension(request_id): axum::Extension<crate::request_id::RequestId>,
    Submitted { .. }: Submitted<super::Nothing>,
) -> Response {
    let (chrome, project, env) =
        match Chrome::load(&state, &signed, &project, &env, "connections", "", None).await {
            Ok(c) => c,
            Err(r) => return r,
        };
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
    Path((project, env, id)): Path<(String, String, String)>,
    Submitted { form, .. }: Submitted<DeleteForm>,
) -> Response {
    let (chrome, project, env) = match Chrome::load(
        &state,
        &signed,
        &project,
        &env,
        "connections",
        "Delete connection",
        None,
    )
    .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let c = match state.broker.store.connection(&project.id, env, &id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return broker_problem(e.into()),
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
