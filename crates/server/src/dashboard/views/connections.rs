//! Connections: search by identity (exact, or by prefix in identity order), filter by platform, identity
//! type, state and tags, page with keyset cursors (never OFFSET) over millions of rows. One connection's
//! page is `connection`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyway_core::connection::{Connection, ConnectionState};
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::timestamp::Timestamp;
use keyway_store::connection_browse::{BrowseCursor, BrowseFilter, IdentityMatch};
use serde::Deserialize;

use super::format::{count, enc, with_amp, When};
use crate::dashboard::chrome::{render, Chrome, FlashCookie, Frame};
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::Signed;
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

pub fn row(state: &AppState, c: &Connection) -> Row {
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
    frame: Frame,
    FlashCookie(flash): FlashCookie,
    Query(q): Query<ListQuery>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "connections", "Connections", flash);
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
            let broker = &state.broker;
            let page = broker
                .browse_connections(&project.id, env, filter, after.as_ref(), PAGE_SIZE)
                .await;
            let total = broker
                .count_connections(&project.id, env, filter, COUNT_CAP + 1)
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
                (Err(e), _) | (_, Err(e)) => return broker_problem(e),
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
