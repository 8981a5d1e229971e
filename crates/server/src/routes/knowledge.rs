//! `GET /v1/knowledge` (pica-compat §11): actions with their knowledge text, by id (`_id`, what the
//! toolkit, ai and mcp send) or by platform (`supported=true&connectionPlatform=…`, ai). Rows carry the
//! platform's real base URL, which the toolkit rewrites in the knowledge to Keyway's passthrough.

use axum::extract::{RawQuery, State};
use axum::Json;
use keyway_catalog::actions::Action;
use serde::Serialize;

use crate::auth::SecretKeyAuth;
use crate::error::ApiError;
use crate::list::{ListQuery, ListReply};
use crate::AppState;

const FILTERS: [&str; 3] = ["_id", "supported", "connectionPlatform"];

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KnowledgeRow {
    /// `conn_mod_def::…`
    #[serde(rename = "_id")]
    pub id: String,
    pub connection_platform: String,
    pub title: String,
    pub key: String,
    /// Relative to `baseUrl`, `{{var}}` for path parameters.
    pub path: String,
    /// What the action does, its parameters, an example request and response.
    pub knowledge: String,
    /// Uppercase.
    pub method: String,
    /// The platform's API base URL (may hold `{{field}}` of the connection's non-secret fields).
    pub base_url: String,
    pub tags: Vec<String>,
    pub active: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KnowledgeList {
    pub rows: Vec<KnowledgeRow>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub skip: u64,
    pub limit: u32,
}

/// Action knowledge, by platform then path then method; filter by `_id` or `connectionPlatform`.
#[utoipa::path(get, path = "/v1/knowledge", tag = "catalog", operation_id = "list_knowledge",
    security(("secretKey" = [])),
    params(("_id" = Option<String>, Query, description = "conn_mod_def::…"),
        ("supported" = Option<bool>, Query, description = "true: supported actions (all of Keyway's)"),
        ("connectionPlatform" = Option<String>, Query, description = "Platform slug"),
        crate::list::Paging),
    responses((status = 200, body = KnowledgeList), (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    SecretKeyAuth(_principal): SecretKeyAuth,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListReply<KnowledgeRow>>, ApiError> {
    let mut q = ListQuery::parse(raw.as_deref(), &FILTERS)?;
    let supported = q.take_bool("supported")?.unwrap_or(true);
    let id = q.take("_id");
    let platform = q.take("connectionPlatform");
    let catalog = &state.broker.catalog;
    let actions = catalog.actions();
    let matching: Vec<&Action> = if !supported {
        Vec::new()
    } else if let Some(id) = &id {
        actions
            .get(id)
            .filter(|a| platform.as_ref().is_none_or(|p| a.platform() == p))
            .into_iter()
            .collect()
    } else if let Some(platform) = &platform {
        actions.for_platform(platform).iter().collect()
    } else {
        actions.iter().collect()
    };
    let total = matching.len() as u64;
    let rows = matching
        .into_iter()
        .skip(usize::try_from(q.skip).unwrap_or(usize::MAX))
        .take(q.limit as usize)
        .filter_map(|a| {
            let base_url = catalog.get(a.platform())?.base_url().as_str().to_owned();
            Some(KnowledgeRow {
                id: a.id().as_str().to_owned(),
                connection_platform: a.platform().to_owned(),
                title: a.title().to_owned(),
                key: a.key().to_owned(),
                path: a.path().as_str().to_owned(),
                knowledge: a.knowledge(&base_url),
                method: a.method().as_str().to_owned(),
                base_url,
                tags: a.tags().to_vec(),
                active: true,
            })
        })
        .collect();
    Ok(Json(ListReply::new(rows, total, q.skip, q.limit)))
}
