//! AuthKit tokens (pica-compat §6.1): the customer's backend asks for a short-lived session for one
//! identity. The reply lists the integrations enabled in the key's environment, always as one page
//! (`@picahq/authkit-token` drops extra fields when it has to fetch more pages), plus the session token.

use axum::extract::{RawQuery, State};

use axum::Json;
use keyway_broker::integrations::Integration;
use keyway_core::identity::{Identity, IdentityType};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::auth::SecretKeyAuth;
use crate::error::ApiError;
use crate::extract::JsonOrEmpty;
use crate::request_id::RequestId;
use crate::routes::platform_view::{image_url, numeric_id};
use crate::AppState;

/// What `@picahq/authkit-token`'s `create(payload)` sends. `group` and `label` are deprecated and ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthkitRequest {
    /// Who the connections made in this session will belong to (required; an error body answers its
    /// absence, since `@picahq/authkit-token` hands it to the browser).
    #[schema(schema_with = crate::input_schema::identity, required = true)]
    pub identity: Option<String>,
    #[schema(value_type = crate::input_schema::IdentityType, required = true)]
    pub identity_type: Option<String>,
    #[schema(ignore)]
    #[allow(dead_code)]
    pub group: Option<serde_json::Value>,
    #[schema(ignore)]
    #[allow(dead_code)]
    pub label: Option<serde_json::Value>,
}

/// One integration enabled for AuthKit (Pica's `AuthkitConnection`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthkitConnection {
    pub id: u64,
    pub connection_def_id: u64,
    /// The platform slug, e.g. `slack`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub image: String,
    pub activated_at: Option<String>,
    pub secret_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id_display: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_display: Option<String>,
    pub scopes: Option<String>,
    pub environment: String,
    pub guide: Option<String>,
    pub created_at: String,
    pub tags: Vec<String>,
    pub active: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthkitResponse {
    pub rows: Vec<AuthkitConnection>,
    pub total: u64,
    /// Always 1: every row comes in one page.
    pub pages: u64,
    pub page: u64,
    pub request_id: String,
    /// The short-lived token the connect modal acts with (`Authorization: Bearer …`).
    pub session_token: String,
    /// When the session token stops working (ISO-8601).
    pub expires_at: String,
    pub identity: String,
    pub identity_type: String,
    pub environment: String,
}

/// Create an AuthKit session for one identity.
#[utoipa::path(post, path = "/v1/authkit", tag = "authkit",
    security(("secretKey" = [])),
    request_body = AuthkitRequest,
    params(("limit" = Option<u32>, Query, description = "Accepted and ignored: the reply is one page",
                minimum = 0, maximum = 2147483647),
           ("page" = Option<u32>, Query, description = "Accepted and ignored", minimum = 0, maximum = 2147483647)),
    responses(
        (status = 200, body = AuthkitResponse),
        (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse)))]
pub async fn create_token(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    axum::Extension(request_id): axum::Extension<RequestId>,
    RawQuery(raw): RawQuery,
    JsonOrEmpty(body): JsonOrEmpty<AuthkitRequest>,
) -> Result<Json<AuthkitResponse>, ApiError> {
    crate::list::ListQuery::parse(raw.as_deref(), &[])?;
    session_reply(
        &state,
        &principal.project_id,
        principal.environment,
        &body,
        request_id.0,
    )
    .await
    .map(Json)
}

/// A new AuthKit session for `body`'s identity in this project environment, in the reply shape
/// `POST /v1/authkit` answers (also what the dashboard's "Try the modal" token endpoint answers).
pub async fn session_reply(
    state: &AppState,
    project: &keyway_core::id::ProjectId,
    environment: keyway_core::environment::Environment,
    body: &AuthkitRequest,
    request_id: String,
) -> Result<AuthkitResponse, ApiError> {
    let identity = body.identity.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_identity",
            "Connecting is not available right now: the app did not say whose account this is (identity is required)",
        )
    })?;
    let identity = Identity::parse(identity)
        .map_err(|e| ApiError::bad_request("invalid_identity", format!("identity: {e}")))?;
    let identity_type = body
        .identity_type
        .as_deref()
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_identity",
                "identityType is required (user, team, organization or project)",
            )
        })?
        .parse::<IdentityType>()
        .map_err(|e| ApiError::bad_request("invalid_identity", e.to_string()))?;

    let integrations = state
        .broker
        .enabled_integrations(project, environment)
        .await?;
    let rows: Vec<AuthkitConnection> = integrations
        .iter()
        .map(|i| authkit_row(state, &project.to_string(), environment.as_str(), i))
        .collect();
    let new = state
        .broker
        .create_authkit_session(project, environment, identity, identity_type)
        .await?;
    Ok(AuthkitResponse {
        total: rows.len() as u64,
        rows,
        pages: 1,
        page: 1,
        request_id,
        session_token: new.token.expose_secret().to_owned(),
        expires_at: new.session.expires_at.to_rfc3339(),
        identity: new.session.identity.to_string(),
        identity_type: new.session.identity_type.as_str().to_owned(),
        environment: new.session.environment.to_string(),
    })
}

fn authkit_row(
    state: &AppState,
    project: &str,
    env: &str,
    i: &Integration<'_>,
) -> AuthkitConnection {
    let slug = i.platform.slug().as_str();
    let settings = i.settings.as_ref();
    let app = settings.and_then(|s| s.oauth_app.as_ref());
    AuthkitConnection {
        id: numeric_id(&[project, env, slug]),
        connection_def_id: numeric_id(&[slug]),
        kind: slug.to_owned(),
        title: i.platform.name().to_owned(),
        image: image_url(&state.settings.public_url, i.platform),
        activated_at: settings
            .and_then(|s| s.activated_at)
            .map(|t| t.to_rfc3339()),
        secret_id: None,
        client_id_display: app.map(|a| a.client_id.clone()),
        client_secret_display: app.and_then(|a| a.client_secret_hint.clone()),
        scopes: app.and_then(|a| a.scopes.clone()),
        environment: env.to_owned(),
        guide: None,
        created_at: settings
            .map(|s| s.created_at.to_rfc3339())
            .unwrap_or_default(),
        tags: Vec::new(),
        active: true,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserFlags {
    pub access_list: Vec<String>,
    /// Pica's white-label flag; Keyway is always yours, so there is nothing to white-label.
    pub authkit_whitelist: bool,
    pub early_access: Vec<String>,
    pub completed_quickstart: bool,
}

/// Account flags `@picahq/authkit-token` reads before creating a token.
#[utoipa::path(get, path = "/v1/users/flags", tag = "authkit",
    security(("secretKey" = [])),
    responses((status = 200, body = UserFlags), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn user_flags(_auth: SecretKeyAuth) -> Json<UserFlags> {
    Json(UserFlags {
        access_list: Vec::new(),
        authkit_whitelist: false,
        early_access: Vec::new(),
        completed_quickstart: true,
    })
}
