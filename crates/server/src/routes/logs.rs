//! The passthrough request log, for the dashboard: newest first, scoped to the key's environment.

use axum::extract::{RawQuery, State};
use axum::Json;
use keyway_store::connections::Window;
use keyway_store::request_logs::{RequestLog, RequestLogFilter};
use serde::Serialize;

use crate::auth::SecretKeyAuth;
use crate::error::ApiError;
use crate::list::{ListQuery, ListReply};
use crate::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestLogView {
    pub id: String,
    pub request_id: String,
    pub created_at: String,
    pub connection_id: String,
    pub connection_key: String,
    pub platform: String,
    pub action_id: Option<String>,
    pub method: String,
    /// Path and query parameter names; values are never logged.
    pub path: String,
    pub status: u16,
    pub latency_ms: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
}

impl From<RequestLog> for RequestLogView {
    fn from(l: RequestLog) -> Self {
        Self {
            id: l.id,
            request_id: l.request_id,
            created_at: l.created_at.to_rfc3339(),
            connection_id: l.connection_id,
            connection_key: l.connection_key,
            platform: l.platform,
            action_id: l.action_id,
            method: l.method,
            path: l.path,
            status: l.status,
            latency_ms: l.latency_ms,
            bytes_in: l.bytes_in,
            bytes_out: l.bytes_out,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestLogList {
    pub rows: Vec<RequestLogView>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub skip: u64,
    pub limit: u32,
}

/// Passthrough requests made in the key's environment, newest first.
#[utoipa::path(get, path = "/v1/logs", tag = "logs", operation_id = "list_request_logs",
    security(("secretKey" = [])),
    params(("connectionKey" = Option<String>, Query), ("platform" = Option<String>, Query),
        ("status" = Option<u16>, Query, description = "The HTTP status the caller got", minimum = 0, maximum = 65535),
        crate::list::Paging),
    responses((status = 200, body = RequestLogList), (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListReply<RequestLogView>>, ApiError> {
    let mut q = ListQuery::parse(raw.as_deref(), &["connectionKey", "platform", "status"])?;
    let status = q
        .take("status")
        .map(|s| {
            s.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse::<u16>().ok())
                .flatten()
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_parameter",
                        "The query parameter \"status\" must be an HTTP status code",
                    )
                })
        })
        .transpose()?;
    let filter = RequestLogFilter {
        connection_key: q.take("connectionKey"),
        platform: q.take("platform"),
        status,
    };
    let window = Window {
        skip: q.skip,
        limit: q.limit,
    };
    let (rows, total) = state
        .broker
        .store
        .list_request_logs(
            &principal.project_id,
            principal.environment,
            &filter,
            window,
        )
        .await
        .map_err(|e| ApiError::from(keyway_broker::error::BrokerError::from(e)))?;
    Ok(Json(ListReply::new(
        rows.into_iter().map(RequestLogView::from).collect(),
        total,
        q.skip,
        q.limit,
    )))
}
