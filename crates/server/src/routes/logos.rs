//! Platform logos from the catalog, public (the modal and dashboards show them).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

pub async fn logo(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let slug = slug.trim_end_matches(".svg").trim_end_matches(".png");
    let (bytes, content_type) = state
        .broker
        .catalog
        .logo(slug)
        .ok_or_else(|| ApiError::not_found("No logo for that platform"))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        bytes.to_vec(),
    )
        .into_response())
}
