//! The URL map, grouped by auth boundary. `public`: operations and the API description.
//! `secret_key`: the developer API; its handlers take `SecretKeyAuth`.

pub mod docs;
pub mod ops;
pub mod vault;

use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::AppState;

pub fn router(state: AppState) -> Router {
    let public = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(docs::openapi_json));
    let secret_key = Router::new()
        .route("/v1/vault/connections", get(vault::list_connections))
        .route("/v1/vault/connections/{id}", get(vault::get_connection));
    public.merge(secret_key).with_state(state)
}

pub async fn not_found() -> ApiError {
    ApiError::from_status(axum::http::StatusCode::NOT_FOUND)
}
