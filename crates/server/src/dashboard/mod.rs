//! The dashboard at `/dashboard`: server-rendered pages (askama templates in `ui/dashboard/templates`)
//! with a little progressive script (`ui/dashboard/dashboard.js`; every page works without it), served
//! by the same binary. Every page calls the same broker code as the API and CLI.
//! Invariants: who may do what is decided by the extractors in `session` (`Signed`, `Editor`,
//! `OwnerOnly`), never by what a page shows; every form post is checked by `form` (the session's CSRF
//! token, or the pre-session one before sign-in); responses run only scripts carrying their nonce and
//! cannot be framed (`page`); no secret is ever written into a page, except a new secret key or one-time
//! link on the response that created it.

mod assets;
pub mod chrome;
mod form;
mod page;
mod problem;
pub mod session;
mod views;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// The dashboard's routes.
pub fn router() -> Router<AppState> {
    use views::*;
    const P: &str = "/dashboard/{project}/{env}";
    Router::new()
        .route("/dashboard", get(home::home))
        .route("/dashboard/switch", get(home::switch))
        .route("/dashboard/assets/{file}", get(assets::asset))
        .route(
            "/dashboard/sign-in",
            get(auth::sign_in_page).post(auth::sign_in),
        )
        .route("/dashboard/sign-out", post(auth::sign_out))
        .route("/dashboard/setup", get(auth::setup_page).post(auth::setup))
        .route(
            "/dashboard/password",
            get(auth::password_page).post(auth::choose_password),
        )
        .route(&format!("{P}/integrations"), get(integrations::list))
        .route(
            &format!("{P}/integrations/{{slug}}"),
            get(integrations::detail),
        )
        .route(
            &format!("{P}/integrations/{{slug}}/visibility"),
            post(integrations::set_visibility),
        )
        .route(
            &format!("{P}/integrations/{{slug}}/oauth-app"),
            post(integrations::save_oauth_app),
        )
        .route(
            &format!("{P}/integrations/{{slug}}/oauth-app/remove"),
            post(integrations::remove_oauth_app),
        )
        .route(&format!("{P}/connections"), get(connections::list))
        .route(&format!("{P}/connections/{{id}}"), get(connection::detail))
        .route(
            &format!("{P}/connections/{{id}}/tags"),
            post(connection::set_tags),
        )
        .route(
            &format!("{P}/connections/{{id}}/test"),
            post(connection::test),
        )
        .route(
            &format!("{P}/connections/{{id}}/delete"),
            post(connection::delete),
        )
        .route(&format!("{P}/actions"), get(actions::list))
        .route(&format!("{P}/actions/{{id}}"), get(actions::detail))
        .route(&format!("{P}/requests"), get(requests::list))
        .route(&format!("{P}/requests/{{id}}"), get(requests::detail))
        .route(&format!("{P}/keys"), get(keys::list).post(keys::create))
        .route(&format!("{P}/keys/check"), post(keys::check))
        .route(&format!("{P}/keys/{{id}}/revoke"), post(keys::revoke))
        .route(&format!("{P}/settings"), get(settings::show))
        .route(
            &format!("{P}/settings/environment"),
            post(settings::save_environment),
        )
        .route(
            &format!("{P}/settings/branding"),
            post(settings::save_branding),
        )
        .route(
            &format!("{P}/settings/rename"),
            post(settings::rename_project),
        )
        .route(
            &format!("{P}/settings/projects"),
            post(settings::create_project),
        )
        .route(&format!("{P}/audit"), get(audit::list))
        .route(
            &format!("{P}/accounts"),
            get(accounts::list).post(accounts::invite),
        )
        .route(
            &format!("{P}/accounts/{{id}}/role"),
            post(accounts::set_role),
        )
        .route(
            &format!("{P}/accounts/{{id}}/remove"),
            post(accounts::remove),
        )
        .route(
            &format!("{P}/accounts/{{id}}/password-link"),
            post(accounts::password_link),
        )
        .route(&format!("{P}/account"), get(accounts::account))
        .route(
            &format!("{P}/account/password"),
            post(accounts::change_password),
        )
        .route(&format!("{P}/try"), get(try_modal::page))
        .route(&format!("{P}/try/token"), post(try_modal::token))
}

/// The answer for a path under `/dashboard` that matches no page: an HTML page, not the API's JSON.
pub fn not_found() -> axum::response::Response {
    chrome::not_found()
}
