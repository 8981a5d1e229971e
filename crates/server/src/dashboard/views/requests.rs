//! Requests: the passthrough request log (agents' executions and connection tests included), newest
//! first, filtered by connection, platform, identity, status class and period; never bodies or query
//! values, as the log never holds them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyway_core::timestamp::Timestamp;
use keyway_store::request_log_browse::{LogBrowseFilter, LogCursor};
use keyway_store::request_logs::RequestLog;
use serde::Deserialize;

use super::format::{enc, When};
use crate::dashboard::chrome::{not_found, render, Chrome, FlashCookie, Frame};
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::Signed;
use crate::AppState;

pub struct Row {
    pub id: String,
    pub when: When,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub status_class: u16,
    pub latency_ms: i64,
    pub platform: String,
    pub identity: String,
    pub connection_id: String,
}

fn row(l: &RequestLog) -> Row {
    Row {
        id: l.id.clone(),
        when: When::of(l.created_at),
        method: l.method.clone(),
        path: l.path.clone(),
        status: l.status,
        status_class: l.status / 100,
        latency_ms: l.latency_ms,
        platform: l.platform.clone(),
        identity: l
            .connection_key
            .rsplit_once('|')
            .map(|(_, i)| i.to_owned())
            .unwrap_or_default(),
        connection_id: l.connection_id.clone(),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    connection: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    identity: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    after: String,
}

impl ListQuery {
    fn query(&self) -> String {
        [
            ("connection", &self.connection),
            ("platform", &self.platform),
            ("identity", &self.identity),
            ("status", &self.status),
            ("period", &self.period),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
    }

    fn filtered(&self) -> bool {
        !self.query().is_empty()
    }
}

fn period_seconds(p: &str) -> Option<i64> {
    match p {
        "1h" => Some(3600),
        "24h" => Some(86_400),
        "7d" => Some(7 * 86_400),
        "30d" => Some(30 * 86_400),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    q: ListQuery,
    platforms: Vec<(String, String)>,
    next: Option<String>,
    paged: bool,
}

/// `GET /dashboard/{project}/{env}/requests`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
    Query(q): Query<ListQuery>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "requests", "Requests", flash);
    let filter = LogBrowseFilter {
        connection_id: (!q.connection.is_empty()).then(|| q.connection.clone()),
        platform: (!q.platform.is_empty()).then(|| q.platform.clone()),
        identity: (!q.identity.trim().is_empty()).then(|| q.identity.trim().to_owned()),
        status_class: q.status.parse().ok(),
        since: period_seconds(&q.period).map(|s| Timestamp::now().plus_seconds(-s)),
        until: None,
    };
    let after = q.after.split_once('|').and_then(|(t, id)| {
        Some(LogCursor {
            created_at: Timestamp::from_unix_millis(t.parse().ok()?),
            id: id.to_owned(),
        })
    });
    let (logs, more) = match state
        .broker
        .browse_request_logs(&project.id, env, &filter, after.as_ref(), 50)
        .await
    {
        Ok(r) => r,
        Err(e) => return broker_problem(e),
    };
    let next = if more {
        logs.last().map(|l| {
            chrome.url(&format!(
                "requests?{}after={}",
                super::format::with_amp(q.query()),
                enc(&format!("{}|{}", l.created_at.unix_millis(), l.id))
            ))
        })
    } else {
        None
    };
    let page = RequestsPage {
        rows: logs.iter().map(row).collect(),
        platforms: state
            .broker
            .catalog
            .iter()
            .map(|p| (p.slug().as_str().to_owned(), p.name().to_owned()))
            .collect(),
        paged: !q.after.is_empty(),
        next,
        q,
        chrome,
    };
    render(&page.chrome, &page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    chrome: Chrome,
    r: Row,
    request_id: String,
    action_id: Option<String>,
    bytes_in: i64,
    bytes_out: i64,
    connection_key: String,
}

/// `GET /dashboard/{project}/{env}/requests/{id}`
pub async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
    Path((_, _, id)): Path<(String, String, String)>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "requests", "Request", flash);
    let log = match state.broker.request_log_entry(&project.id, env, &id).await {
        Ok(Some(l)) => l,
        Ok(None) => return not_found(),
        Err(e) => return broker_problem(e),
    };
    let page = RequestPage {
        r: row(&log),
        request_id: log.request_id.clone(),
        action_id: log.action_id.clone(),
        bytes_in: log.bytes_in,
        bytes_out: log.bytes_out,
        connection_key: log.connection_key.clone(),
        chrome,
    };
    render(&page.chrome, &page, StatusCode::OK)
}
