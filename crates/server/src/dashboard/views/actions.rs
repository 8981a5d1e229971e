//! The Actions table: per platform, every catalogued action with its id (what `x-pica-action-id`
//! takes), method, path and the knowledge text agents read, searchable with the same ranking as the
//! API's search; an action's page shows the passthrough call to make with it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyway_catalog::actions::Action;
use serde::Deserialize;

use super::format::{count, enc};
use crate::dashboard::chrome::{not_found, render, Chrome, FlashCookie, Frame};
use crate::dashboard::session::Signed;
use crate::AppState;

const PAGE: usize = 100;

pub struct Row {
    pub id: String,
    pub title: String,
    pub method: &'static str,
    pub path: String,
}

fn row(a: &Action) -> Row {
    Row {
        id: a.id().as_str().to_owned(),
        title: a.title().to_owned(),
        method: a.method().as_str(),
        path: a.path().as_str().to_owned(),
    }
}

#[derive(Template)]
#[template(path = "actions.html")]
struct ActionsPage {
    chrome: Chrome,
    platforms: Vec<(String, String, String)>,
    platform: String,
    platform_name: String,
    q: String,
    rows: Vec<Row>,
    total: String,
    next: Option<String>,
    prev: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    platform: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: usize,
}

/// `GET /dashboard/{project}/{env}/actions`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
    Query(q): Query<ListQuery>,
) -> Response {
    let (chrome, _, _) = frame.chrome(&signed, "actions", "Actions", flash);
    let catalog = &state.broker.catalog;
    let actions = catalog.actions();
    let mut platforms: Vec<(String, String, String)> = actions
        .counts()
        .filter(|(_, n)| *n > 0)
        .map(|(slug, n)| {
            let name = catalog
                .get(slug)
                .map(|p| p.name().to_owned())
                .unwrap_or_else(|| slug.to_owned());
            (slug.to_owned(), name, count(n as u64))
        })
        .collect();
    platforms.sort_by_key(|a| a.1.to_lowercase());
    let platform = if platforms.iter().any(|p| p.0 == q.platform) {
        q.platform.clone()
    } else {
        platforms.first().map(|p| p.0.clone()).unwrap_or_default()
    };
    let platform_name = platforms
        .iter()
        .find(|p| p.0 == platform)
        .map(|p| p.1.clone())
        .unwrap_or_default();
    let query = q.q.trim();
    let (rows, total, next, prev) = if query.is_empty() {
        let all = actions.for_platform(&platform);
        let start = (q.page * PAGE).min(all.len());
        let end = (start + PAGE).min(all.len());
        let link =
            |page: usize| chrome.url(&format!("actions?platform={}&page={page}", enc(&platform)));
        (
            all[start..end].iter().map(row).collect::<Vec<_>>(),
            format!("{} actions", count(all.len() as u64)),
            (end < all.len()).then(|| link(q.page + 1)),
            (q.page > 0).then(|| link(q.page - 1)),
        )
    } else {
        let hits: Vec<Row> = actions
            .search(&platform, query, 50)
            .into_iter()
            .map(row)
            .collect();
        let total = format!("{} best matches", hits.len());
        (hits, total, None, None)
    };
    let page = ActionsPage {
        platforms,
        platform,
        platform_name,
        q: q.q,
        rows,
        total,
        next,
        prev,
        chrome,
    };
    render(&page.chrome, &page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "action.html")]
struct ActionPage {
    chrome: Chrome,
    a: Row,
    platform: String,
    platform_name: String,
    description: String,
    knowledge: String,
    curl: String,
}

/// `GET /dashboard/{project}/{env}/actions/{id}`
pub async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
    Path((_, _, id)): Path<(String, String, String)>,
) -> Response {
    let catalog = &state.broker.catalog;
    let Some(action) = catalog.actions().get(&id) else {
        return not_found();
    };
    let (chrome, _, _) = frame.chrome(&signed, "actions", action.title(), flash);
    let platform = catalog.get(action.platform());
    let base_url = platform
        .map(|p| p.base_url().as_str().to_owned())
        .unwrap_or_default();
    let path = action.path().as_str().replace("{{", "{").replace("}}", "}");
    let mut curl = format!(
        "curl -X {} '{}/v1/passthrough{}' \\\n  -H \"x-pica-secret: $KEYWAY_SECRET_KEY\" \\\n  \
         -H 'x-pica-connection-key: {}::{}::default::…|user_123' \\\n  -H 'x-pica-action-id: {}'",
        action.method().as_str(),
        state.settings.public_url,
        path,
        chrome.env,
        action.platform(),
        action.id().as_str()
    );
    if action.body().is_some() {
        curl.push_str(" \\\n  -H 'content-type: application/json' \\\n  -d '{…}'");
    }
    let page = ActionPage {
        platform_name: platform
            .map(|p| p.name().to_owned())
            .unwrap_or_else(|| action.platform().to_owned()),
        platform: action.platform().to_owned(),
        description: action.description().to_owned(),
        knowledge: action.knowledge(&base_url),
        curl,
        a: row(action),
        chrome,
    };
    render(&page.chrome, &page, StatusCode::OK)
}
