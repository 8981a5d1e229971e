//! Where `/dashboard` leads (the first project's test environment), and the project switcher.

use axum::extract::{Query, State};
use axum::response::Response;
use keyway_core::environment::Environment;
use serde::Deserialize;

use crate::dashboard::page::see_other;
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::Signed;
use crate::AppState;

/// The sections a project page can be; anything else goes to integrations.
const SECTIONS: [&str; 11] = [
    "integrations",
    "connections",
    "actions",
    "requests",
    "keys",
    "settings",
    "audit",
    "accounts",
    "try",
    "account",
    "projects",
];

/// `GET /dashboard`
pub async fn home(State(state): State<AppState>, _signed: Signed) -> Response {
    match state.broker.projects().await {
        Ok(projects) => match projects.first() {
            Some(p) => see_other(&format!("/dashboard/{}/test/integrations", p.id), None),
            None => super::super::chrome::not_found(),
        },
        Err(e) => broker_problem(e),
    }
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    project: String,
    env: Option<String>,
    section: Option<String>,
}

/// `GET /dashboard/switch?project=…&env=…&section=…`: the project switcher without script.
pub async fn switch(_signed: Signed, Query(q): Query<SwitchQuery>) -> Response {
    let env = q
        .env
        .as_deref()
        .and_then(|e| e.parse::<Environment>().ok())
        .unwrap_or(Environment::Test);
    let section = q
        .section
        .as_deref()
        .filter(|s| SECTIONS.contains(s))
        .unwrap_or("integrations");
    let project = q
        .project
        .parse::<keyway_core::id::ProjectId>()
        .map(|p| p.to_string())
        .unwrap_or_default();
    see_other(&format!("/dashboard/{project}/{env}/{section}"), None)
}
