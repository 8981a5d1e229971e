//! What every signed-in page shows around its content: the operator, the project switcher, the test/live
//! toggle, the navigation, a one-time message, and the response's nonce and CSRF token.

use axum::http::StatusCode;
use axum::response::Response;
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::project::Project;

use super::assets;
use super::problem::{broker_problem, problem};
use super::session::{Signed, COOKIE_PATH};
use crate::AppState;

pub const FLASH_COOKIE: &str = "keyway_flash";

/// A message shown once on the next page (after a redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `ok` or `error`.
    pub kind: &'static str,
    pub text: String,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            kind: "ok",
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self {
            kind: "error",
            text: text.into(),
        }
    }

    /// The `Set-Cookie` value that carries it to the next page (never a secret).
    pub fn cookie(&self) -> String {
        let value: String =
            form_urlencoded::byte_serialize(format!("{}:{}", self.kind, self.text).as_bytes())
                .collect();
        format!("{FLASH_COOKIE}={value}; Path={COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=60")
    }

    pub fn from_cookie(value: &str) -> Option<Self> {
        let decoded: String = form_urlencoded::parse(format!("v={value}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
        let (kind, text) = decoded.split_once(':')?;
        let kind = match kind {
            "ok" => "ok",
            "error" => "error",
            _ => return None,
        };
        Some(Self {
            kind,
            text: text.chars().take(300).collect(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ProjectOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

/// The frame of a signed-in page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub nonce: String,
    pub csrf: String,
    pub title: String,
    pub email: String,
    pub role: &'static str,
    pub can_change: bool,
    pub is_owner: bool,
    pub projects: Vec<ProjectOption>,
    pub project_id: String,
    pub project_name: String,
    pub env: &'static str,
    /// Which navigation entry is current.
    pub section: &'static str,
    pub flash: Option<Flash>,
    pub css: &'static str,
    pub js: &'static str,
}

impl Chrome {
    /// The frame for `section` of `frame`'s project environment, for `signed`.
    pub fn new(
        frame: &Frame,
        signed: &Signed,
        section: &'static str,
        title: impl Into<String>,
        flash: Option<Flash>,
    ) -> Self {
        Self {
            nonce: super::page::nonce(),
            csrf: signed.csrf.clone(),
            title: title.into(),
            email: signed.operator.email.clone(),
            role: signed.operator.role.as_str(),
            can_change: signed.operator.role.can_change(),
            is_owner: signed.operator.role.can_manage_accounts(),
            projects: frame
                .projects
                .iter()
                .map(|p| ProjectOption {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    selected: p.id == frame.project.id,
                })
                .collect(),
            project_id: frame.project.id.to_string(),
            project_name: frame.project.name.clone(),
            env: frame.env.as_str(),
            section,
            flash,
            css: assets::css_url(),
            js: assets::js_url(),
        }
    }

    /// `/dashboard/{project}/{env}/{rest}`.
    pub fn url(&self, rest: &str) -> String {
        format!("/dashboard/{}/{}/{rest}", self.project_id, self.env)
    }

    /// The same section in the other environment.
    pub fn other_env_url(&self) -> String {
        let other = if self.env == "test" { "live" } else { "test" };
        format!("/dashboard/{}/{other}/{}", self.project_id, self.section)
    }

    pub fn is_test(&self) -> bool {
        self.env == "test"
    }
}

/// The project environment a page is about, from its path (`/dashboard/{project}/{env}/…`), with every
/// project for the switcher. A project that does not exist, or an environment other than `test` and
/// `live`, is a 404 page.
#[derive(Debug, Clone)]
pub struct Frame {
    pub project: Project,
    pub env: Environment,
    projects: Vec<Project>,
}

impl Frame {
    /// The page's chrome, and the project and environment it is about.
    pub fn chrome(
        &self,
        signed: &Signed,
        section: &'static str,
        title: impl Into<String>,
        flash: Option<Flash>,
    ) -> (Chrome, Project, Environment) {
        (
            Chrome::new(self, signed, section, title, flash),
            self.project.clone(),
            self.env,
        )
    }
}

impl axum::extract::FromRequestParts<AppState> for Frame {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default()
        };
        let env: Environment = param("env").parse().map_err(|_| not_found())?;
        let id = param("project")
            .parse::<ProjectId>()
            .map_err(|_| not_found())?;
        let projects = state.broker.projects().await.map_err(broker_problem)?;
        let project = projects
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .ok_or_else(not_found)?;
        Ok(Self {
            project,
            env,
            projects,
        })
    }
}

pub fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing here. It may have been deleted, or the link is wrong.",
    )
}

/// The one-time message the previous response left, if any.
#[derive(Debug, Clone)]
pub struct FlashCookie(pub Option<Flash>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for FlashCookie {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            super::session::cookie(parts, FLASH_COOKIE).and_then(Flash::from_cookie),
        ))
    }
}

/// A signed-in page: rendered with the chrome's nonce; a shown message is cleared so it shows once.
pub fn render<T: askama::Template>(chrome: &Chrome, page: &T, status: StatusCode) -> Response {
    let mut response = super::page::html(status, &chrome.nonce, page.render());
    if chrome.flash.is_some() {
        let clear =
            format!("{FLASH_COOKIE}=; Path={COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=0");
        if let Ok(v) = axum::http::HeaderValue::from_str(&clear) {
            response
                .headers_mut()
                .append(axum::http::header::SET_COOKIE, v);
        }
    }
    response
}
