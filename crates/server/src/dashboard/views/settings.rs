//! Settings: the environment's (require action ids), the connect modal's branding defaults, the URLs as
//! Keyway sees them, and the project itself (rename, create another).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use keyway_broker::error::BrokerError;
use keyway_broker::settings::SettingsChange;
use keyway_core::project::Branding;
use serde::Deserialize;

use crate::dashboard::chrome::{render, Chrome, Flash, FlashCookie, Frame};
use crate::dashboard::form::{checked, Submitted};
use crate::dashboard::page::see_other;
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::{Editor, Signed};
use crate::AppState;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    require_action_ids: bool,
    company_name: String,
    logo_url: String,
    theme: String,
    public_url: String,
    redirect_uri: String,
    project_name: String,
    new_project: String,
    errors: BTreeMap<String, String>,
}

impl SettingsPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// What a failed form wants shown again instead of the stored values.
#[derive(Default)]
struct Echo {
    branding: Option<Branding>,
    project_name: Option<String>,
    new_project: Option<String>,
    errors: BTreeMap<String, String>,
}

async fn settings_page(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    frame: &Frame,
    echo: Echo,
) -> Response {
    let (chrome, project, env) = frame.chrome(signed, "settings", "Settings", flash);
    let settings = match state.broker.settings(&project.id, env).await {
        Ok(s) => s,
        Err(e) => return broker_problem(e),
    };
    let branding = match echo.branding {
        Some(b) => b,
        None => match state.broker.branding(&project.id, env).await {
            Ok(b) => b,
            Err(e) => return broker_problem(e),
        },
    };
    let status = if echo.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = SettingsPage {
        require_action_ids: settings.require_action_ids,
        company_name: branding.company_name.unwrap_or_default(),
        logo_url: branding.logo_url.unwrap_or_default(),
        theme: branding.theme.unwrap_or_default(),
        public_url: state.settings.public_url.clone(),
        redirect_uri: format!(
            "{}{}",
            state.settings.public_url,
            crate::routes::oauth::CALLBACK_PATH
        ),
        project_name: echo.project_name.unwrap_or_else(|| project.name.clone()),
        new_project: echo.new_project.unwrap_or_default(),
        errors: echo.errors,
        chrome,
    };
    render(&page.chrome, &page, status)
}

/// `GET /dashboard/{project}/{env}/settings`
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
) -> Response {
    settings_page(&state, &signed, flash, &frame, Echo::default()).await
}

#[derive(Deserialize)]
pub struct EnvironmentForm {
    require_action_ids: Option<String>,
}

/// `POST /dashboard/{project}/{env}/settings/environment`
pub async fn save_environment(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Submitted { form, .. }: Submitted<EnvironmentForm>,
) -> Response {
    let (chrome, project, env) = frame.chrome(&signed, "settings", "", None);
    let required = checked(&form.require_action_ids);
    match state
        .broker
        .change_settings(
            &project.id,
            env,
            SettingsChange {
                require_action_ids: Some(required),
            },
            &signed.actor(),
        )
        .await
    {
        Ok(_) => see_other(
            &chrome.url("settings"),
            Some(Flash::ok(if required {
                "Passthrough requests without an action id are refused from now on."
            } else {
                "Passthrough requests no longer need an action id."
            })),
        ),
        Err(e) => broker_problem(e),
    }
}

#[derive(Deserialize)]
pub struct BrandingForm {
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    logo_url: String,
    #[serde(default)]
    theme: String,
}

/// `POST /dashboard/{project}/{env}/settings/branding`
pub async fn save_branding(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Submitted { form, .. }: Submitted<BrandingForm>,
) -> Response {
    let (chrome, project_row, env_value) = frame.chrome(&signed, "settings", "", None);
    let branding = Branding {
        company_name: Some(form.company_name),
        logo_url: Some(form.logo_url),
        theme: Some(form.theme),
    };
    match state
        .broker
        .change_branding(
            &project_row.id,
            env_value,
            branding.clone(),
            &signed.actor(),
        )
        .await
    {
        Ok(_) => see_other(
            &chrome.url("settings"),
            Some(Flash::ok(
                "Branding saved: the modal uses it when your page does not say otherwise.",
            )),
        ),
        Err(BrokerError::InvalidField { field, message }) => {
            let echo = Echo {
                branding: Some(branding),
                errors: BTreeMap::from([(field, message)]),
                ..Echo::default()
            };
            settings_page(&state, &signed, None, &frame, echo).await
        }
        Err(e) => broker_problem(e),
    }
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// `POST /dashboard/{project}/{env}/settings/rename`
pub async fn rename_project(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Submitted { form, .. }: Submitted<NameForm>,
) -> Response {
    let (chrome, project_row, _) = frame.chrome(&signed, "settings", "", None);
    match state
        .broker
        .rename_project(&project_row.id, &form.name, &signed.actor())
        .await
    {
        Ok(p) => see_other(
            &chrome.url("settings"),
            Some(Flash::ok(format!(
                "The project is now called \"{}\".",
                p.name
            ))),
        ),
        Err(BrokerError::InvalidField { message, .. }) => {
            let echo = Echo {
                project_name: Some(form.name),
                errors: BTreeMap::from([("projectName".to_owned(), message)]),
                ..Echo::default()
            };
            settings_page(&state, &signed, None, &frame, echo).await
        }
        Err(e) => broker_problem(e),
    }
}

/// `POST /dashboard/{project}/{env}/settings/projects`: a new project, opened at once (it has no keys
/// yet: create them under Keys).
pub async fn create_project(
    State(state): State<AppState>,
    Editor(signed): Editor,
    frame: Frame,
    Submitted { form, .. }: Submitted<NameForm>,
) -> Response {
    match state
        .broker
        .create_project(&form.name, &signed.actor())
        .await
    {
        Ok(p) => see_other(
            &format!("/dashboard/{}/test/keys", p.id),
            Some(Flash::ok(format!(
                "Created project \"{}\". Create its first secret key here.",
                p.name
            ))),
        ),
        Err(BrokerError::InvalidField { message, .. }) => {
            let echo = Echo {
                new_project: Some(form.name),
                errors: BTreeMap::from([("newProject".to_owned(), message)]),
                ..Echo::default()
            };
            settings_page(&state, &signed, None, &frame, echo).await
        }
        Err(e) => broker_problem(e),
    }
}
