//! `GET /v1/available-connectors` (pica-compat §11): the catalog in Pica's connector shape.

use axum::extract::{RawQuery, State};
use axum::Json;
use keyway_catalog::platform::Status;
use serde::Serialize;

use crate::auth::SecretKeyAuth;
use crate::error::ApiError;
use crate::list::{ListQuery, ListReply};
use crate::routes::platform_view::{image_url, numeric_id};
use crate::AppState;

const FILTERS: [&str; 5] = ["platform", "authkit", "key", "name", "category"];

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    pub id: u64,
    pub name: String,
    /// `api::{platform}::v1`
    pub key: String,
    pub platform: String,
    pub platform_version: String,
    /// `generally_available`, `beta` or `alpha`.
    pub status: String,
    pub description: String,
    pub category: String,
    pub image: String,
    pub tags: Vec<String>,
    pub oauth: bool,
    pub auth_kind: String,
    /// Number of catalogued actions.
    pub tools: u64,
    pub version: String,
    pub active: bool,
    pub deprecated: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectorList {
    pub rows: Vec<Connector>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub skip: u64,
    pub limit: u32,
}

/// The platforms Keyway knows; `authkit=true` keeps those enabled for AuthKit in the key's environment.
#[utoipa::path(get, path = "/v1/available-connectors", tag = "catalog", operation_id = "list_available_connectors",
    security(("secretKey" = [])),
    params(
        ("platform" = Option<String>, Query), ("authkit" = Option<bool>, Query),
        ("key" = Option<String>, Query, description = "api::{platform}::v1"), ("name" = Option<String>, Query),
        ("category" = Option<String>, Query), crate::list::Paging),
    responses((status = 200, body = ConnectorList), (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListReply<Connector>>, ApiError> {
    let mut q = ListQuery::parse(raw.as_deref(), &FILTERS)?;
    let authkit_only = q.take_bool("authkit")?.unwrap_or(false);
    let (platform, key, name, category) = (
        q.take("platform"),
        q.take("key"),
        q.take("name"),
        q.take("category"),
    );
    let enabled: Vec<String> = if authkit_only {
        state
            .broker
            .enabled_integrations(&principal.project_id, principal.environment)
            .await?
            .iter()
            .map(|i| i.platform.slug().as_str().to_owned())
            .collect()
    } else {
        Vec::new()
    };
    let all: Vec<Connector> = state
        .broker
        .catalog
        .iter()
        .filter(|p| !authkit_only || enabled.iter().any(|e| e == p.slug().as_str()))
        .map(|p| {
            let slug = p.slug().as_str();
            Connector {
                id: numeric_id(&[slug]),
                name: p.name().to_owned(),
                key: format!("api::{slug}::v1"),
                platform: slug.to_owned(),
                platform_version: "v1".into(),
                status: match p.status() {
                    Status::GenerallyAvailable => "generally_available",
                    Status::Beta => "beta",
                    Status::Alpha => "alpha",
                }
                .into(),
                description: p.description().to_owned(),
                category: p.category().to_owned(),
                image: image_url(&state.settings.public_url, p),
                tags: p.tags().to_vec(),
                oauth: p.is_oauth(),
                auth_kind: p.auth_kind().as_str().to_owned(),
                tools: state.broker.catalog.actions().for_platform(slug).len() as u64,
                version: "1.0.0".into(),
                active: true,
                deprecated: false,
            }
        })
        .filter(|c| platform.as_ref().is_none_or(|v| &c.platform == v))
        .filter(|c| key.as_ref().is_none_or(|v| &c.key == v))
        .filter(|c| name.as_ref().is_none_or(|v| c.name.eq_ignore_ascii_case(v)))
        .filter(|c| {
            category
                .as_ref()
                .is_none_or(|v| c.category.eq_ignore_ascii_case(v))
        })
        .collect();
    let total = all.len() as u64;
    let rows = all
        .into_iter()
        .skip(usize::try_from(q.skip).unwrap_or(usize::MAX))
        .take(q.limit as usize)
        .collect();
    Ok(Json(ListReply::new(rows, total, q.skip, q.limit)))
}
