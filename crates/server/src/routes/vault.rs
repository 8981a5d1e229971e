//! The connections vault (pica-compat §9): list and read the caller's connections.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use keyway_broker::connect::{Channel, ConnectRequest, FormData, Owner};
use keyway_catalog::load::Catalog;
use keyway_core::connection::{Connection, ConnectionFilter};
use keyway_core::identity::{Identity, IdentityType};
use keyway_store::connections::Window;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::auth::SecretKeyAuth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::list::{ListQuery, ListReply};
use crate::AppState;

/// Every filter an SDK sends (toolkit `keys`, ai/mcp `key`, ai `skip`): all must stay accepted.
const FILTERS: [&str; 9] = [
    "identity",
    "identityType",
    "platform",
    "platformVersion",
    "name",
    "key",
    "keys",
    "tags",
    "active",
];

/// A connection as the vault API returns it. No credentials, ever.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub id: String,
    /// Same as `id` (some SDK types read `_id`).
    #[serde(rename = "_id")]
    pub underscore_id: String,
    pub platform_version: String,
    pub name: Option<String>,
    /// Always `"api"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `{test|live}::{platform}::default::{32 hex}|{identity}`
    pub key: String,
    pub environment: String,
    pub platform: String,
    pub identity: String,
    pub identity_type: String,
    /// The platform's description.
    pub description: String,
    /// `operational`, `degraded` (refresh failing, retrying), `failed` (reconnect needed) or `unknown`.
    pub state: String,
    pub tags: Vec<String>,
    pub version: i64,
    pub active: bool,
    /// ISO-8601.
    pub created_at: String,
    pub updated_at: String,
}

impl ConnectionView {
    /// `catalog` supplies the platform's description (empty when the platform left the catalog).
    pub fn new(c: Connection, catalog: &Catalog) -> Self {
        Self {
            description: catalog
                .get(&c.platform)
                .map(|p| p.description().to_owned())
                .unwrap_or_default(),
            underscore_id: c.id.clone(),
            id: c.id,
            platform_version: c.platform_version,
            name: c.name,
            kind: "api",
            key: c.key.to_string(),
            environment: c.environment.to_string(),
            platform: c.platform,
            identity: c.identity.to_string(),
            identity_type: c.identity_type.as_str().to_owned(),
            state: c.state.as_str().to_owned(),
            tags: c.tags,
            version: c.version,
            active: c.active,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// `{"rows":[…],"total":N,"page":P,"pages":Q,"skip":S,"limit":L}` (schema for the document).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionList {
    pub rows: Vec<ConnectionView>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub skip: u64,
    pub limit: u32,
}

/// List the caller's connections (project and environment fixed by the secret key).
#[utoipa::path(get, path = "/v1/vault/connections", tag = "vault",
    security(("secretKey" = [])),
    params(
        ("identity" = Option<String>, Query, description = "Only this identity's connections"),
        ("identityType" = Option<crate::input_schema::IdentityType>, Query),
        ("platform" = Option<String>, Query, description = "Platform slug, e.g. slack"),
        ("platformVersion" = Option<String>, Query),
        ("name" = Option<String>, Query),
        ("key" = Option<String>, Query, description = "Comma-separated connection keys, at most 500",
            pattern = r"^[^,\x00]*(?:,[^,\x00]*){0,499}$"),
        ("keys" = Option<String>, Query, description = "Comma-separated connection keys, at most 500 (alias of key; both may be given)",
            pattern = r"^[^,\x00]*(?:,[^,\x00]*){0,499}$"),
        ("tags" = Option<String>, Query, description = "Comma-separated; a row must have all of them"),
        ("active" = Option<bool>, Query, description = "Default true"),
        crate::list::Paging,
    ),
    responses(
        (status = 200, body = ConnectionList),
        (status = 400, description = "Unknown or malformed parameter", body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse)))]
pub async fn list_connections(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListReply<ConnectionView>>, ApiError> {
    let mut q = ListQuery::parse(raw.as_deref(), &FILTERS)?;
    let identity_type = q
        .take("identityType")
        .map(|v| v.parse())
        .transpose()
        .map_err(|e: keyway_core::identity::InvalidIdentityType| {
            ApiError::bad_request("invalid_parameter", e.to_string())
        })?;
    let keys = match (key_list(&mut q, "key")?, key_list(&mut q, "keys")?) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(a)
        }
        (a, b) => a.or(b),
    };
    let filter = ConnectionFilter {
        identity: q.take("identity"),
        identity_type,
        platform: q.take("platform"),
        platform_version: q.take("platformVersion"),
        name: q.take("name"),
        keys,
        tags: q.take_list("tags").unwrap_or_default(),
        active: Some(q.take_bool("active")?.unwrap_or(true)),
    };
    let window = Window {
        skip: q.skip,
        limit: q.limit,
    };
    let (rows, total) = state
        .broker
        .list_connections(&principal, &filter, window)
        .await?;
    Ok(Json(ListReply::new(
        rows.into_iter()
            .map(|c| ConnectionView::new(c, &state.broker.catalog))
            .collect(),
        total,
        q.skip,
        q.limit,
    )))
}

/// Comma-separated connection keys in one parameter.
const MAX_KEYS: usize = 500;

/// The keys of `key` or `keys`: at most [`MAX_KEYS`] comma-separated items, blank ones dropped.
fn key_list(q: &mut ListQuery, name: &str) -> Result<Option<Vec<String>>, ApiError> {
    if q.params
        .get(name)
        .is_some_and(|v| v.split(',').count() > MAX_KEYS)
    {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("At most {MAX_KEYS} keys in the query parameter {name:?}"),
        ));
    }
    Ok(q.take_list(name))
}

/// One of the caller's connections. Another project's or environment's answers 404, like a missing one.
#[utoipa::path(get, path = "/v1/vault/connections/{id}", tag = "vault",
    security(("secretKey" = [])),
    params(("id" = String, Path, description = "Connection id")),
    responses(
        (status = 200, body = ConnectionView),
        (status = 401, body = crate::error::ErrorResponse),
        (status = 404, body = crate::error::ErrorResponse)))]
pub async fn get_connection(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    state
        .broker
        .connection(&principal, &id)
        .await?
        .map(|c| Json(ConnectionView::new(c, &state.broker.catalog)))
        .ok_or_else(|| ApiError::not_found("No connection with that id"))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportConnection {
    /// Platform slug, e.g. `slack`.
    pub platform: String,
    #[schema(schema_with = crate::input_schema::identity)]
    pub identity: String,
    #[schema(value_type = crate::input_schema::IdentityType)]
    pub identity_type: String,
    /// The platform's connect-form fields by name; OAuth platforms take `accessToken`, and optionally
    /// `refreshToken` and `expiresIn` (seconds). Values that do not fit the platform's form are a 422.
    #[schema(schema_with = crate::input_schema::form_values)]
    pub auth_form_data: BTreeMap<String, String>,
    #[schema(schema_with = crate::input_schema::name)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(schema_with = crate::input_schema::tags)]
    pub tags: Vec<String>,
}

impl std::fmt::Debug for ImportConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportConnection")
            .field("platform", &self.platform)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// Import credentials a user already holds as a connection for an identity.
#[utoipa::path(post, path = "/v1/vault/connections", tag = "vault",
    security(("secretKey" = [])),
    request_body = ImportConnection,
    responses(
        (status = 201, body = ConnectionView),
        (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse),
        (status = 404, description = "Unknown platform", body = crate::error::ErrorResponse),
        (status = 422, description = "Form values invalid or credentials rejected", body = crate::error::ErrorResponse)))]
pub async fn import_connection(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    ApiJson(body): ApiJson<ImportConnection>,
) -> Result<(StatusCode, Json<ConnectionView>), ApiError> {
    let owner = Owner {
        identity: Identity::parse(body.identity.trim())
            .map_err(|e| ApiError::bad_request("invalid_identity", format!("identity: {e}")))?,
        identity_type: body
            .identity_type
            .parse::<IdentityType>()
            .map_err(|e| ApiError::bad_request("invalid_identity", e.to_string()))?,
        project_id: principal.project_id,
        environment: principal.environment,
    };
    let request = ConnectRequest {
        platform: body.platform,
        form: FormData(
            body.auth_form_data
                .into_iter()
                .map(|(k, v)| (k, SecretString::from(v)))
                .collect(),
        ),
        name: body.name,
        tags: body.tags,
    };
    let connection = state
        .broker
        .connect_with_form(&owner, request, Channel::Import)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ConnectionView::new(connection, &state.broker.catalog)),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConnection {
    /// Replaces the connection's tags.
    #[schema(schema_with = crate::input_schema::tags)]
    pub tags: Vec<String>,
}

/// Replace a connection's tags.
#[utoipa::path(patch, path = "/v1/vault/connections/{id}", tag = "vault",
    security(("secretKey" = [])),
    params(("id" = String, Path, description = "Connection id")),
    request_body = UpdateConnection,
    responses(
        (status = 200, body = ConnectionView),
        (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse),
        (status = 404, body = crate::error::ErrorResponse)))]
pub async fn update_connection(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    crate::auth::ClientAddress(address): crate::auth::ClientAddress,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateConnection>,
) -> Result<Json<ConnectionView>, ApiError> {
    let connection = state
        .broker
        .set_connection_tags(
            &principal.project_id,
            principal.environment,
            &id,
            body.tags,
            &crate::auth::key_actor(&principal, address.as_deref()),
        )
        .await?;
    Ok(Json(ConnectionView::new(connection, &state.broker.catalog)))
}

/// Delete a connection and its sealed credentials. 200 with an empty body.
#[utoipa::path(delete, path = "/v1/vault/connections/{id}", tag = "vault",
    security(("secretKey" = [])),
    params(("id" = String, Path, description = "Connection id")),
    responses(
        (status = 200, description = "Deleted"),
        (status = 401, body = crate::error::ErrorResponse),
        (status = 404, body = crate::error::ErrorResponse)))]
pub async fn delete_connection(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    crate::auth::ClientAddress(address): crate::auth::ClientAddress,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .broker
        .delete_connection(
            &principal.project_id,
            principal.environment,
            &id,
            &crate::auth::key_actor(&principal, address.as_deref()),
        )
        .await?;
    Ok(StatusCode::OK)
}
