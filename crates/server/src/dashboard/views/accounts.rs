//! Accounts (owners only): who may sign in, with which role; adding someone (they choose their password
//! through a one-time link shown here once), changing roles, password links, removal. And "Your
//! account" for everyone: changing one's own password.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyway_broker::error::BrokerError;
use keyway_broker::operators::links::Link;
use keyway_core::id::OperatorId;
use keyway_core::operator::Role;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::format::When;
use crate::dashboard::chrome::{render, Chrome, Flash, FlashCookie, Frame};
use crate::dashboard::form::Submitted;
use crate::dashboard::page::see_other;
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::{OwnerOnly, Signed};
use crate::AppState;

pub struct Row {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub has_password: bool,
    pub created: When,
    pub me: bool,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    email: String,
    role: String,
    error: Option<String>,
}

async fn accounts_page(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    frame: &Frame,
    failed: Option<(String, String, String)>,
) -> Response {
    let (chrome, _, _) = frame.chrome(signed, "accounts", "Accounts", flash);
    let operators = match state.broker.operators().await {
        Ok(o) => o,
        Err(e) => return broker_problem(e),
    };
    let (email, role, error) = match failed {
        Some((email, role, error)) => (email, role, Some(error)),
        None => (String::new(), "admin".to_owned(), None),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = AccountsPage {
        rows: operators
            .iter()
            .map(|o| Row {
                id: o.id.to_string(),
                email: o.email.clone(),
                role: o.role.as_str(),
                has_password: o.has_password,
                created: When::of(o.created_at),
                me: o.id == signed.operator.id,
            })
            .collect(),
        email,
        role,
        error,
        chrome,
    };
    render(&page.chrome, &page, status)
}

/// `GET /dashboard/{project}/{env}/accounts`
pub async fn list(
    State(state): State<AppState>,
    OwnerOnly(signed): OwnerOnly,
    frame: Frame,
    FlashCookie(flash): FlashCookie,
) -> Response {
    accounts_page(&state, &signed, flash, &frame, None).await
}

#[derive(Template)]
#[template(path = "link_created.html")]
struct LinkPage {
    chrome: Chrome,
    heading: String,
    url: String,
    expires: When,
}

fn link_page(chrome: Chrome, heading: String, url: String, link: &Link) -> Response {
    let page = LinkPage {
        chrome,
        heading,
        url,
        expires: When::of(link.expires_at),
    };
    render(&page.chrome, &page, StatusCode::CREATED)
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// `POST /dashboard/{project}/{env}/accounts`: a new account and its one-time link, shown here once.
pub async fn invite(
    State(state): State<AppState>,
    OwnerOnly(signed): OwnerOnly,
    frame: Frame,
    Submitted { form, .. }: Submitted<InviteForm>,
) -> Response {
    let Ok(role) = form.role.parse::<Role>() else {
        let failed = (form.email, form.role, "Choose a role.".to_owned());
        return accounts_page(&state, &signed, None, &frame, Some(failed)).await;
    };
    match state
        .broker
        .create_operator(&form.email, role, &signed.actor())
        .await
    {
        Ok((operator, link)) => {
            let (chrome, _, _) = frame.chrome(&signed, "accounts", "New account", None);
            let url = password_url(&state, &link);
            link_page(
                chrome,
                format!("Send {} this link", operator.email),
                url,
                &link,
            )
        }
        Err(BrokerError::Account(e)) => {
            let failed = (form.email, form.role, e.to_string());
            accounts_page(&state, &signed, None, &frame, Some(failed)).await
        }
        Err(e) => broker_problem(e),
    }
}

fn password_url(state: &AppState, link: &Link) -> String {
    format!(
        "{}/dashboard/password?token={}",
        state.settings.public_url,
        link.token.expose_secret()
    )
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

/// `POST /dashboard/{project}/{env}/accounts/{id}/role`
pub async fn set_role(
    State(state): State<AppState>,
    OwnerOnly(signed): OwnerOnly,
    Path((project, env, id)): Path<(String, String, String)>,
    Submitted { form, .. }: Submitted<RoleForm>,
) -> Response {
    let back = format!("/dashboard/{project}/{env}/accounts");
    let (Ok(id), Ok(role)) = (id.parse::<OperatorId>(), form.role.parse::<Role>()) else {
        return crate::dashboard::chrome::not_found();
    };
    match state
        .broker
        .set_operator_role(&id, role, &signed.actor())
        .await
    {
        Ok(()) => see_other(&back, Some(Flash::ok(format!("Role changed to {role}.")))),
        Err(BrokerError::Account(e)) => see_other(&back, Some(Flash::error(e.to_string()))),
        Err(e) => broker_problem(e),
    }
}

/// `POST /dashboard/{project}/{env}/accounts/{id}/remove`
pub async fn remove(
    State(state): State<AppState>,
    OwnerOnly(signed): OwnerOnly,
    Path((project, env, id)): Path<(String, String, String)>,
    Submitted { .. }: Submitted<super::Nothing>,
) -> Response {
    let back = format!("/dashboard/{project}/{env}/accounts");
    let Ok(id) = id.parse::<OperatorId>() else {
        return crate::dashboard::chrome::not_found();
    };
    match state.broker.delete_operator(&id, &signed.actor()).await {
        Ok(()) if id == signed.operator.id => see_other("/dashboard/sign-in", None),
        Ok(()) => see_other(
            &back,
            Some(Flash::ok("Account removed; its sessions ended.")),
        ),
        Err(BrokerError::Account(e)) => see_other(&back, Some(Flash::error(e.to_string()))),
        Err(e) => broker_problem(e),
    }
}

/// `POST /dashboard/{project}/{env}/accounts/{id}/password-link`: a reset link, shown here once.
pub async fn password_link(
    State(state): State<AppState>,
    OwnerOnly(signed): OwnerOnly,
    frame: Frame,
    Path((_, _, id)): Path<(String, String, String)>,
    Submitted { .. }: Submitted<super::Nothing>,
) -> Response {
    let Ok(id) = id.parse::<OperatorId>() else {
        return crate::dashboard::chrome::not_found();
    };
    let email = match state.broker.operator(&id).await {
        Ok(Some(o)) => o.email,
        Ok(None) => return crate::dashboard::chrome::not_found(),
        Err(e) => return broker_problem(e),
    };
    match state
        .broker
        .password_reset_link(&email, &signed.actor())
        .await
    {
        Ok((operator, link)) => {
            let (chrome, _, _) = frame.chrome(&signed, "accounts", "Password link", None);
            let url = password_url(&state, &link);
            link_page(
                chrome,
                format!("A new password link for {}", operator.email),
                url,
                &link,
            )
        }
        Err(e) => broker_problem(e),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    created: When,
    error: Option<(String, String)>,
}

/// `GET /dashboard/{project}/{env}/account`
pub async fn account(signed: Signed, frame: Frame, FlashCookie(flash): FlashCookie) -> Response {
    account_page(&signed, flash, &frame, None).await
}

async fn account_page(
    signed: &Signed,
    flash: Option<Flash>,
    frame: &Frame,
    error: Option<(String, String)>,
) -> Response {
    let (chrome, _, _) = frame.chrome(signed, "account", "Your account", flash);
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = AccountPage {
        created: When::of(signed.operator.created_at),
        error,
        chrome,
    };
    render(&page.chrome, &page, status)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    password: String,
    confirm: String,
}

/// `POST /dashboard/{project}/{env}/account/password`: every other session of the account ends.
pub async fn change_password(
    State(state): State<AppState>,
    signed: Signed,
    frame: Frame,
    Submitted { form, .. }: Submitted<PasswordForm>,
) -> Response {
    if form.password != form.confirm {
        let e = (
            "confirm".to_owned(),
            "The two new passwords are not the same.".to_owned(),
        );
        return account_page(&signed, None, &frame, Some(e)).await;
    }
    match state
        .broker
        .change_own_password(
            &signed.operator,
            &signed.token,
            SecretString::from(form.current),
            SecretString::from(form.password),
            &signed.actor(),
        )
        .await
    {
        Ok(()) => see_other(
            &format!("/dashboard/{}/{}/account", frame.project.id, frame.env),
            Some(Flash::ok(
                "Password changed. Your other sessions were signed out.",
            )),
        ),
        Err(BrokerError::Account(e)) => {
            let field = match e {
                keyway_broker::operators::AccountError::WrongCredentials => "current",
                _ => "password",
            };
            let message = match e {
                keyway_broker::operators::AccountError::WrongCredentials => {
                    "That is not your current password.".to_owned()
                }
                other => other.to_string(),
            };
            account_page(&signed, None, &frame, Some((field.into(), message))).await
        }
        Err(e) => broker_problem(e),
    }
}
