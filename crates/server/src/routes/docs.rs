//! The OpenAPI document of Keyway's own API, generated from the handlers.

use axum::Json;

use crate::openapi;

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::document())
}
