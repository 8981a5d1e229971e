//! The audit trail: every change made in the dashboard, through the API or with the CLI (who, what,
//! when, from which address; never a secret), newest first, for this project and account-wide events.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyway_core::audit::{ActorKind, AuditEvent};
use keyway_core::timestamp::Timestamp;
use keyway_store::audit::{AuditCursor, AuditFilter};
use serde::Deserialize;

use super::format::{enc, When};
use crate::dashboard::chrome::{render, Chrome, FlashCookie, Frame};
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::Signed;
use crate::AppState;

/// One event in words, e.g. "Enabled slack" or "Revoked key key_…".
pub fn describe(e: &AuditEvent) -> String {
    let target = e.target.as_deref().unwrap_or("");
    let d = |k: &str| e.detail.get(k).map(String::as_str).unwrap_or("");
    match e.action.as_str() {
        "integration.enabled" => format!("Showed {target} in the connect modal"),
        "integration.disabled" => format!("Hid {target} from the connect modal"),
        "integration.oauth_app_configured" => format!("Configured the OAuth app of {target}"),
        "integration.oauth_app_removed" => format!("Removed the OAuth app of {target}"),
        "integration.updated" => format!("Changed the settings of {target}"),
        "connection.tags_changed" => format!("Set the tags of a connection to \"{}\"", d("tags")),
        "connection.deleted" => format!("Deleted {}'s {} connection", d("identity"), d("platform")),
        "key.created" => format!("Created secret key {}", d("hint")),
        "key.revoked" => format!("Revoked secret key {}", d("hint")),
        "settings.updated" => "Changed the environment's settings".to_owned(),
        "branding.updated" => "Changed the connect modal's branding".to_owned(),
        "project.created" => format!("Created project \"{}\"", d("name")),
        "project.renamed" => format!("Renamed project \"{}\" to \"{}\"", d("from"), d("to")),
        "operator.created" => format!("Added the {} account {target}", d("role")),
        "operator.removed" => format!("Removed the account {target}"),
        "operator.role_changed" => format!("Made {target} {} (was {})", d("to"), d("from")),
        "operator.password_set" => format!("{target} chose a password"),
        "operator.password_changed" => format!("{target} changed their password"),
        "operator.password_link_created" => format!("Created a password link for {target}"),
        "operator.signed_in" => format!("{target} signed in"),
        other => format!("{other} {target}"),
    }
}

pub struct EventRow {
    pub when: When,
    pub what: String,
    pub action: String,
    pub actor: String,
    pub kind: &'static str,
    pub address: String,
    pub environment: String,
    pub details: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<EventRow>,
    kind: String,
    next: Option<String>,
    paged: bool,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    after: String,
}

const KINDS: [&str; 7] = [
    "integration.",
    "connection.",
    "key.",
    "settings.",
    "branding.",
    "project.",
    "operator.",
];

/// `GET /dashboard/{project}/{env}/audit`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
    Query(q): Query<AuditQuery>,
) -> Response {
    let (chrome, project, _) = frame.chrome(&signed, "audit", "Audit trail", flash);
    let after = q.after.split_once('|').and_then(|(t, id)| {
        Some(AuditCursor {
            created_at: Timestamp::from_unix_millis(t.parse().ok()?),
            id: id.to_owned(),
        })
    });
    let filter = AuditFilter {
        project_id: Some(project.id.clone()),
        include_global: true,
        action_prefix: KINDS
            .iter()
            .find(|k| k.trim_end_matches('.') == q.kind)
            .map(|k| (*k).to_owned()),
        target: None,
    };
    let (events, more) = match state.broker.audit_events(&filter, after.as_ref(), 50).await {
        Ok(r) => r,
        Err(e) => return broker_problem(e),
    };
    let next = more.then(|| {
        events.last().map(|e| {
            chrome.url(&format!(
                "audit?kind={}&after={}",
                enc(&q.kind),
                enc(&format!("{}|{}", e.created_at.unix_millis(), e.id))
            ))
        })
    });
    let rows = events
        .iter()
        .map(|e| EventRow {
            when: When::of(e.created_at),
            what: describe(e),
            action: e.action.clone(),
            actor: e.actor.label.clone(),
            kind: match e.actor.kind {
                ActorKind::Operator => "dashboard",
                ActorKind::SecretKey => "API",
                ActorKind::Cli => "CLI",
            },
            address: e.actor.address.clone().unwrap_or_default(),
            environment: e
                .environment
                .map(|x| x.as_str().to_owned())
                .unwrap_or_default(),
            details: e
                .detail
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
        .collect();
    let page = AuditPage {
        rows,
        kind: q.kind,
        next: next.flatten(),
        paged: !q.after.is_empty(),
        chrome,
    };
    render(&page.chrome, &page, StatusCode::OK)
}
