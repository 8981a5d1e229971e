//! Liveness, readiness and metrics for operators and orchestrators.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

use crate::error::ApiError;
use crate::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    pub status: &'static str,
}

/// The process is up and serving HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The process can reach its database.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Database unreachable", body = crate::error::ErrorResponse)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.broker.store.ping().await {
        Ok(()) => Ok(Json(Health { status: "ok" })),
        Err(e) => {
            tracing::warn!(error = %crate::error::ErrorChain(&e), "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The database is not reachable",
            ))
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
