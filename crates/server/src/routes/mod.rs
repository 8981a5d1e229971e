//! The URL map, grouped by auth boundary. `public`: operations, the API description, logos.
//! `secret_key`: the developer API; its handlers take `SecretKeyAuth`.
//! `authkit_session`: the connect modal's API; its handlers take `AuthkitSessionAuth`.

pub mod actions;
pub mod authkit;
pub mod connectors;
pub mod docs;
pub mod integrations;
pub mod knowledge;
pub mod logos;
pub mod logs;
pub mod modal;
pub mod oauth;
pub mod ops;
pub mod passthrough;
pub mod platform_view;
pub mod session;
pub mod settings;
pub mod vault;

use axum::routing::{get, patch, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::ApiError;
use crate::AppState;

pub fn router(state: AppState) -> Router {
    let public = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/logos/{slug}", get(logos::logo))
        .route(oauth::CALLBACK_PATH, get(oauth::callback))
        .route("/oauth/callback", get(oauth::callback))
        .route("/authkit", get(modal::page))
        .route("/authkit/app.js", get(modal::app_js))
        .route("/authkit/app.css", get(modal::app_css))
        .route("/authkit.js", get(modal::embed_js));
    let secret_key = Router::new()
        .route(
            "/v1/vault/connections",
            get(vault::list_connections).post(vault::import_connection),
        )
        .route(
            "/v1/vault/connections/{id}",
            get(vault::get_connection)
                .patch(vault::update_connection)
                .delete(vault::delete_connection),
        )
        .route("/v1/authkit", post(authkit::create_token))
        .route("/v1/users/flags", get(authkit::user_flags))
        .route("/v1/available-connectors", get(connectors::list))
        .route("/v1/available-actions/{platform}", get(actions::list))
        .route(
            "/v1/available-actions/search/{platform}",
            get(actions::search),
        )
        .route("/v1/knowledge", get(knowledge::list))
        .route("/v1/logs", get(logs::list))
        .route("/v1/integrations", get(integrations::list))
        .route("/v1/integrations/{platform}", patch(integrations::update))
        .route("/v1/settings", get(settings::show).patch(settings::update));
    let authkit_session = Router::new()
        .route("/v1/authkit/integrations", get(session::integrations))
        .route("/v1/authkit/connections", post(session::connect))
        .route("/v1/authkit/oauth/start", post(oauth::start))
        .route("/v1/authkit/oauth/result/{attempt}", get(oauth::result));
    let api_limit = RequestBodyLimitLayer::new(state.settings.max_body_bytes);
    // Passthrough (`/v1/passthrough/…`) is not routed here: `crate::App` sends it to its handler first.
    public
        .merge(secret_key)
        .merge(authkit_session)
        .merge(crate::dashboard::router())
        .layer(api_limit)
        .merge(crate::mcp::http::router(state.clone()))
        .with_state(state)
}

/// No route: the API's JSON 404, or the dashboard's 404 page under `/dashboard`.
pub async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    let path = uri.path();
    if path == "/dashboard" || path.starts_with("/dashboard/") {
        crate::dashboard::not_found()
    } else {
        axum::response::IntoResponse::into_response(ApiError::from_status(
            axum::http::StatusCode::NOT_FOUND,
        ))
    }
}
