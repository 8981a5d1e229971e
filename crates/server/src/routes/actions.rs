//! `GET /v1/available-actions/{platform}` (a list) and `GET /v1/available-actions/search/{platform}` (a
//! bare JSON array, best match first) over the actions catalog (pica-compat §11). Methods are always
//! uppercase and `tags` always an array: the toolkit compares the one and calls `.includes` on the other.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use keyway_catalog::actions::Action;
use serde::Serialize;

use crate::auth::SecretKeyAuth;
use crate::error::ApiError;
use crate::list::{ListQuery, ListReply};
use crate::AppState;

const FILTERS: [&str; 3] = ["title", "key", "method"];
const SEARCH_PARAMS: [&str; 4] = ["query", "limit", "executeAgent", "knowledgeAgent"];
const SEARCH_DEFAULT_LIMIT: usize = 5;
const SEARCH_MAX_LIMIT: usize = 100;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionRow {
    pub title: String,
    /// Unique within the platform (usually the API's operationId).
    pub key: String,
    /// GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    pub platform: String,
    /// Relative to the platform's base URL, `{{var}}` for path parameters.
    pub path: String,
    pub tags: Vec<String>,
    /// `conn_mod_def::…`, for `x-pica-action-id` and `/v1/knowledge?_id=`.
    pub system_id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionList {
    pub rows: Vec<ActionRow>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub skip: u64,
    pub limit: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// `conn_mod_def::…`
    pub system_id: String,
    pub title: String,
    pub key: String,
    /// Uppercase.
    pub method: String,
    pub path: String,
    pub tags: Vec<String>,
    /// Present with `knowledgeAgent=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knowledge: Option<String>,
}

/// A platform's actions, by path then method. `title` matches case-insensitively within the title;
/// `key` and `method` match exactly (method in any case).
#[utoipa::path(get, path = "/v1/available-actions/{platform}", tag = "catalog", operation_id = "list_available_actions",
    security(("secretKey" = [])),
    params(("platform" = String, Path, description = "Platform slug, e.g. github"),
        ("title" = Option<String>, Query), ("key" = Option<String>, Query),
        ("method" = Option<String>, Query), crate::list::Paging),
    responses((status = 200, body = ActionList), (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    SecretKeyAuth(_principal): SecretKeyAuth,
    Path(platform): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListReply<ActionRow>>, ApiError> {
    let mut q = ListQuery::parse(raw.as_deref(), &FILTERS)?;
    known_platform(&state, &platform)?;
    let title = q.take("title").map(|t| t.to_lowercase());
    let key = q.take("key");
    let method = q.take("method");
    let matching: Vec<&Action> = state
        .broker
        .catalog
        .actions()
        .for_platform(&platform)
        .iter()
        .filter(|a| {
            title
                .as_ref()
                .is_none_or(|t| a.title().to_lowercase().contains(t))
        })
        .filter(|a| key.as_ref().is_none_or(|k| a.key() == k))
        .filter(|a| {
            method
                .as_ref()
                .is_none_or(|m| a.method().as_str().eq_ignore_ascii_case(m))
        })
        .collect();
    let total = matching.len() as u64;
    let rows = matching
        .into_iter()
        .skip(usize::try_from(q.skip).unwrap_or(usize::MAX))
        .take(q.limit as usize)
        .map(|a| ActionRow {
            title: a.title().to_owned(),
            key: a.key().to_owned(),
            method: a.method().as_str().to_owned(),
            platform: a.platform().to_owned(),
            path: a.path().as_str().to_owned(),
            tags: a.tags().to_vec(),
            system_id: a.id().as_str().to_owned(),
        })
        .collect();
    Ok(Json(ListReply::new(rows, total, q.skip, q.limit)))
}

/// The actions of a platform that best match a request in plain words ("list issues", "send an
/// email"), best first, as a bare JSON array. `knowledgeAgent=true` adds each action's knowledge.
#[utoipa::path(get, path = "/v1/available-actions/search/{platform}", tag = "catalog", operation_id = "search_actions",
    security(("secretKey" = [])),
    params(("platform" = String, Path, description = "Platform slug, e.g. github"),
        ("query" = String, Query, description = "What the action should do (not blank)",
            pattern = r"^[^\x00]*[^\x00\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00]*$"),
        ("limit" = Option<u32>, Query, description = "At most this many results: default 5, clamped to 1–100",
            minimum = 0, maximum = 2147483647),
        ("executeAgent" = Option<bool>, Query), ("knowledgeAgent" = Option<bool>, Query)),
    responses((status = 200, body = Vec<SearchHit>), (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn search(
    State(state): State<AppState>,
    SecretKeyAuth(_principal): SecretKeyAuth,
    Path(platform): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<SearchHit>>, ApiError> {
    let mut params = crate::list::decode_query(raw.as_deref(), &SEARCH_PARAMS)?;
    let query = params
        .remove("query")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                "Say what the action should do in the query parameter \"query\"",
            )
        })?;
    let limit = match params.remove("limit") {
        None => SEARCH_DEFAULT_LIMIT,
        Some(v) => (crate::list::parse_number("limit", &v)? as usize).clamp(1, SEARCH_MAX_LIMIT),
    };
    let flag = |name: &str| -> Result<bool, ApiError> {
        match params.get(name).map(String::as_str) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::bad_request(
                "invalid_parameter",
                format!("The query parameter {name:?} must be true or false"),
            )),
        }
    };
    let with_knowledge = flag("knowledgeAgent")?;
    flag("executeAgent")?;
    let base_url = known_platform(&state, &platform)?;
    let hits = state
        .broker
        .catalog
        .actions()
        .search(&platform, &query, limit)
        .into_iter()
        .map(|a| SearchHit {
            system_id: a.id().as_str().to_owned(),
            title: a.title().to_owned(),
            key: a.key().to_owned(),
            method: a.method().as_str().to_owned(),
            path: a.path().as_str().to_owned(),
            tags: a.tags().to_vec(),
            knowledge: with_knowledge.then(|| a.knowledge(&base_url)),
        })
        .collect();
    Ok(Json(hits))
}

/// The platform's base URL template, or 404 when the catalog has no such platform.
fn known_platform(state: &AppState, slug: &str) -> Result<String, ApiError> {
    state
        .broker
        .catalog
        .get(slug)
        .map(|p| p.base_url().as_str().to_owned())
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "No platform {:?} in the catalog",
                slug.chars().take(64).collect::<String>()
            ))
        })
}
