//! Integrations (the product page's "AuthKit settings"): the whole catalog with logos, search and a
//! category filter, a visibility switch per integration (the modal's next load sees it, on every node:
//! the modal reads the database), and per OAuth integration its own OAuth app: the redirect URI to
//! register, client id, write-only client secret, scopes.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyway_broker::error::BrokerError;
use keyway_broker::integrations::{IntegrationChange, OAuthAppChange};
use keyway_catalog::auth::AuthKind;
use keyway_catalog::platform::Platform;
use secrecy::SecretString;
use serde::Deserialize;

use crate::dashboard::chrome::{render, Chrome, Flash, FlashCookie, Frame};
use crate::dashboard::form::Submitted;
use crate::dashboard::page::see_other;
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::{Editor, Signed};
use crate::AppState;

/// How an auth kind reads on a badge.
pub fn auth_label(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::OAuth2AuthorizationCode => "OAuth",
        AuthKind::OAuth2ClientCredentials => "Client credentials",
        AuthKind::ApiKey => "API key",
        AuthKind::Basic => "Username & password",
        AuthKind::Bearer => "Token",
        AuthKind::None => "No sign-in",
    }
}

pub struct Row {
    pub slug: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub auth: &'static str,
    pub oauth_app_needed: bool,
    pub enabled: bool,
    pub own_app: bool,
    /// Matches the page's filter (the script filters the rest as you type).
    pub shown: bool,
    /// Lowercased words the script matches against.
    pub haystack: String,
}

#[derive(Template)]
#[template(path = "integrations.html")]
struct IntegrationsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    categories: Vec<String>,
    q: String,
    category: String,
    show: String,
    enabled_count: usize,
    shown_count: usize,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    show: String,
}

/// `GET /dashboard/{project}/{env}/integrations`
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
    Query(q): Query<ListQuery>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "integrations", "Integrations", flash);
    let integrations = match state.broker.integrations(&project.id, env).await {
        Ok(i) => i,
        Err(e) => return broker_problem(e),
    };
    let needle = q.q.trim().to_lowercase();
    let mut categories: Vec<String> = Vec::new();
    let rows: Vec<Row> = integrations
        .iter()
        .map(|i| {
            let p = i.platform;
            if !categories.iter().any(|c| c == p.category()) {
                categories.push(p.category().to_owned());
            }
            let haystack = format!(
                "{} {} {} {}",
                p.name(),
                p.slug().as_str(),
                p.category(),
                p.description()
            )
            .to_lowercase();
            let enabled = i.enabled();
            let shown = (needle.is_empty() || haystack.contains(&needle))
                && (q.category.is_empty() || q.category == p.category())
                && match q.show.as_str() {
                    "enabled" => enabled,
                    "disabled" => !enabled,
                    _ => true,
                };
            Row {
                slug: p.slug().as_str().to_owned(),
                name: p.name().to_owned(),
                category: p.category().to_owned(),
                description: p.description().to_owned(),
                auth: auth_label(p.auth_kind()),
                oauth_app_needed: needs_app(p),
                enabled,
                own_app: i.settings.as_ref().is_some_and(|s| s.oauth_app.is_some()),
                shown,
                haystack,
            }
        })
        .collect();
    categories.sort();
    let page = IntegrationsPage {
        enabled_count: rows.iter().filter(|r| r.enabled).count(),
        shown_count: rows.iter().filter(|r| r.shown).count(),
        chrome,
        rows,
        categories,
        q: q.q,
        category: q.category,
        show: q.show,
    };
    render(&page.chrome, &page, StatusCode::OK)
}

/// Authorization-code platforms connect through the project's own OAuth app.
fn needs_app(p: &Platform) -> bool {
    p.auth_kind() == AuthKind::OAuth2AuthorizationCode
        && p.oauth2().is_some_and(|o| o.client_credentials.is_none())
}

#[derive(Deserialize)]
pub struct VisibilityForm {
    enabled: String,
    #[serde(default)]
    back: String,
}

/// `POST /dashboard/{project}/{env}/integrations/{slug}/visibility`
pub async fn set_visibility(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Path((_, _, slug)): Path<(String, String, String)>,
    Submitted { form, fetch }: Submitted<VisibilityForm>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "integrations", "", None);
    let enabled = form.enabled == "true";
    let change = IntegrationChange {
        enabled: Some(enabled),
        oauth_app: None,
    };
    match state
        .broker
        .change_integration(&project.id, env, &slug, change, &signed.actor())
        .await
    {
        Ok(_) => {
            let name = state
                .broker
                .platform(&slug)
                .map(|p| p.name().to_owned())
                .unwrap_or(slug.clone());
            let text = if enabled {
                format!("{name} now shows in the connect modal.")
            } else {
                format!("{name} no longer shows in the connect modal.")
            };
            if fetch {
                return super::fetch_ok(&text);
            }
            let back = if form.back == "detail" {
                chrome.url(&format!("integrations/{slug}"))
            } else {
                chrome.url("integrations")
            };
            see_other(&back, Some(Flash::ok(text)))
        }
        Err(e) => broker_problem(e),
    }
}

#[derive(Template)]
#[template(path = "integration.html")]
struct IntegrationPage {
    chrome: Chrome,
    slug: String,
    name: String,
    category: String,
    description: String,
    docs_url: String,
    auth: &'static str,
    enabled: bool,
    needs_app: bool,
    redirect_uri: String,
    client_id: String,
    secret_hint: Option<String>,
    scopes: String,
    default_scopes: String,
    own_app: bool,
    own_scopes: bool,
    fields: Vec<(String, bool)>,
    errors: BTreeMap<String, String>,
}

impl IntegrationPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// `GET /dashboard/{project}/{env}/integrations/{slug}`
pub async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
    Path((_, _, slug)): Path<(String, String, String)>,
) -> Response {
    detail_page(&state, &signed, flash, &frame, &slug, None).await
}

/// The detail page; with `failed` (the submitted client id and scopes, and the errors) after a bad form.
async fn detail_page(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    frame: &Frame,
    slug: &str,
    failed: Option<(String, String, BTreeMap<String, String>)>,
) -> Response {
    let Ok(platform) = state.broker.platform(slug) else {
        return crate::dashboard::chrome::not_found();
    };
    let (chrome, project, env) = frame.chrome(signed, "integrations", platform.name(), flash);
    let settings = match state
        .broker
        .integration_settings(&project.id, env, slug)
        .await
    {
        Ok(s) => s,
        Err(e) => return broker_problem(e),
    };
    let app = settings.as_ref().and_then(|s| s.oauth_app.clone());
    let default_scopes = platform
        .oauth2()
        .map(|o| o.default_scopes.join(" "))
        .unwrap_or_default();
    let (client_id, scopes, errors) = match failed {
        Some(f) => f,
        None => (
            app.as_ref()
                .map(|a| a.client_id.clone())
                .unwrap_or_default(),
            app.as_ref()
                .and_then(|a| a.scopes.clone())
                .unwrap_or_else(|| default_scopes.clone()),
            BTreeMap::new(),
        ),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = IntegrationPage {
        slug: slug.to_owned(),
        name: platform.name().to_owned(),
        category: platform.category().to_owned(),
        description: platform.description().to_owned(),
        docs_url: platform.docs_url().to_string(),
        auth: auth_label(platform.auth_kind()),
        enabled: settings.as_ref().is_some_and(|s| s.enabled),
        needs_app: needs_app(platform),
        redirect_uri: format!(
            "{}{}",
            state.settings.public_url,
            crate::routes::oauth::CALLBACK_PATH
        ),
        client_id,
        secret_hint: app.as_ref().and_then(|a| a.client_secret_hint.clone()),
        own_scopes: app.as_ref().is_some_and(|a| a.scopes.is_some()),
        own_app: app.is_some(),
        scopes,
        default_scopes,
        fields: platform
            .fields()
            .iter()
            .map(|f| (f.label.clone(), f.secret))
            .collect(),
        errors,
        chrome,
    };
    render(&page.chrome, &page, status)
}

#[derive(Deserialize)]
pub struct OAuthAppForm {
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    scopes: String,
}

/// `POST /dashboard/{project}/{env}/integrations/{slug}/oauth-app`: the same checks as
/// `PATCH /v1/integrations/{platform}`; an empty secret keeps the stored one.
pub async fn save_oauth_app(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Path((_, _, slug)): Path<(String, String, String)>,
    Submitted { form, .. }: Submitted<OAuthAppForm>,
) -> Response {
    let (chrome, project_row, env_value) = frame.chrome(&signed, "integrations", "", None);
    let scopes: Vec<String> = form
        .scopes
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let secret = form.client_secret.trim();
    let mut errors = BTreeMap::new();
    let existing_secret = match state
        .broker
        .integration_settings(&project_row.id, env_value, &slug)
        .await
    {
        Ok(s) => s
            .and_then(|s| s.oauth_app)
            .is_some_and(|a| a.client_secret_id.is_some()),
        Err(e) => return broker_problem(e),
    };
    if secret.is_empty() && !existing_secret {
        errors.insert(
            "clientSecret".to_owned(),
            "Enter the client secret from the provider's developer console.".to_owned(),
        );
    }
    if errors.is_empty() {
        let change = IntegrationChange {
            enabled: None,
            oauth_app: Some(OAuthAppChange::Set {
                client_id: form.client_id.clone(),
                client_secret: (!secret.is_empty()).then(|| SecretString::from(secret.to_owned())),
                scopes: Some(scopes),
            }),
        };
        match state
            .broker
            .change_integration(&project_row.id, env_value, &slug, change, &signed.actor())
            .await
        {
            Ok(_) => {
                return see_other(
                    &chrome.url(&format!("integrations/{slug}")),
                    Some(Flash::ok(
                        "OAuth app saved. Users connecting now sign in through it.",
                    )),
                )
            }
            Err(BrokerError::InvalidField { field, message }) => {
                errors.insert(field, message);
            }
            Err(BrokerError::InvalidInput(message)) => {
                errors.insert("form".to_owned(), message);
            }
            Err(e) => return broker_problem(e),
        }
    }
    detail_page(
        &state,
        &signed,
        None,
        &frame,
        &slug,
        Some((form.client_id, form.scopes, errors)),
    )
    .await
}

/// `POST /dashboard/{project}/{env}/integrations/{slug}/oauth-app/remove`: back to no app of the
/// project's own (and the catalog's default scopes).
pub async fn remove_oauth_app(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Path((_, _, slug)): Path<(String, String, String)>,
    Submitted { .. }: Submitted<super::Nothing>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "integrations", "", None);
    let change = IntegrationChange {
        enabled: None,
        oauth_app: Some(OAuthAppChange::Remove),
    };
    match state
        .broker
        .change_integration(&project.id, env, &slug, change, &signed.actor())
        .await
    {
        Ok(_) => see_other(
            &chrome.url(&format!("integrations/{slug}")),
            Some(Flash::ok(
                "The OAuth app was removed; its client secret is deleted.",
            )),
        ),
        Err(e) => broker_problem(e),
    }
}
