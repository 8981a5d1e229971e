//! Integration settings per project environment (the dashboard's and the CLI's view): which platforms
//! AuthKit shows, and the customer's own OAuth app. Client secrets go in, only a masked hint comes out.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use keyway_broker::integrations::{Integration, IntegrationChange, OAuthAppChange};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::auth::SecretKeyAuth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::list::{ListQuery, ListReply};
use crate::routes::platform_view::image_url;
use crate::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationView {
    pub platform: String,
    pub name: String,
    pub category: String,
    pub image: String,
    pub auth_kind: String,
    pub oauth: bool,
    /// Shown in AuthKit for this environment. Off by default.
    pub enabled: bool,
    pub activated_at: Option<String>,
    pub oauth_app: Option<OAuthAppView>,
    /// The platform's scopes when no override is set.
    pub default_scopes: Vec<String>,
    /// The redirect URI to register with the platform (OAuth platforms only).
    pub redirect_uri: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthAppView {
    pub client_id: String,
    /// Masked, e.g. `••••••••3xYz`; the secret itself is never returned.
    pub client_secret_display: Option<String>,
    /// Space-separated scope override, if any.
    pub scopes: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntegrationList {
    pub rows: Vec<IntegrationView>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub skip: u64,
    pub limit: u32,
}

pub fn view(public_url: &str, i: &Integration<'_>) -> IntegrationView {
    let settings = i.settings.as_ref();
    IntegrationView {
        platform: i.platform.slug().as_str().to_owned(),
        name: i.platform.name().to_owned(),
        category: i.platform.category().to_owned(),
        image: image_url(public_url, i.platform),
        auth_kind: i.platform.auth_kind().as_str().to_owned(),
        oauth: i.platform.is_oauth(),
        enabled: i.enabled(),
        activated_at: settings
            .and_then(|s| s.activated_at)
            .map(|t| t.to_rfc3339()),
        oauth_app: settings
            .and_then(|s| s.oauth_app.as_ref())
            .map(|a| OAuthAppView {
                client_id: a.client_id.clone(),
                client_secret_display: a.client_secret_hint.clone(),
                scopes: a.scopes.clone(),
            }),
        default_scopes: i
            .platform
            .oauth2()
            .map(|o| o.default_scopes.clone())
            .unwrap_or_default(),
        redirect_uri: i
            .platform
            .is_oauth()
            .then(|| format!("{public_url}/connections/oauth/callback")),
    }
}

/// Every catalog platform with its settings in the key's environment.
#[utoipa::path(get, path = "/v1/integrations", tag = "integrations", operation_id = "list_integrations",
    security(("secretKey" = [])),
    params(("enabled" = Option<bool>, Query), ("platform" = Option<String>, Query),
        crate::list::Paging),
    responses((status = 200, body = IntegrationList), (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListReply<IntegrationView>>, ApiError> {
    let mut q = ListQuery::parse(raw.as_deref(), &["enabled", "platform"])?;
    let enabled = q.take_bool("enabled")?;
    let platform = q.take("platform");
    let all: Vec<IntegrationView> = state
        .broker
        .integrations(&principal.project_id, principal.environment)
        .await?
        .iter()
        .map(|i| view(&state.settings.public_url, i))
        .filter(|v| enabled.is_none_or(|e| v.enabled == e))
        .filter(|v| platform.as_ref().is_none_or(|p| &v.platform == p))
        .collect();
    let total = all.len() as u64;
    let rows = all
        .into_iter()
        .skip(usize::try_from(q.skip).unwrap_or(usize::MAX))
        .take(q.limit as usize)
        .collect();
    Ok(Json(ListReply::new(rows, total, q.skip, q.limit)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationPatch {
    /// Show (true) or hide (false) the integration in AuthKit.
    pub enabled: Option<bool>,
    /// Your own OAuth app; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<OAuthAppInput>)]
    pub oauth_app: Option<Option<OAuthAppInput>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthAppInput {
    #[schema(schema_with = crate::input_schema::client_id)]
    pub client_id: String,
    #[schema(schema_with = crate::input_schema::client_secret)]
    pub client_secret: Option<String>,
    #[schema(schema_with = crate::input_schema::scopes)]
    pub scopes: Option<Vec<String>>,
}

/// Distinguishes an absent field (outer `None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Change one integration's settings in the key's environment.
#[utoipa::path(patch, path = "/v1/integrations/{platform}", tag = "integrations", operation_id = "update_integration",
    security(("secretKey" = [])),
    params(("platform" = String, Path, description = "Platform slug")),
    request_body = IntegrationPatch,
    responses((status = 200, body = IntegrationView), (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse),
        (status = 422, description = "An OAuth app for a platform that does not use OAuth (not_oauth)", body = crate::error::ErrorResponse)))]
pub async fn update(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    crate::auth::ClientAddress(address): crate::auth::ClientAddress,
    Path(platform): Path<String>,
    ApiJson(body): ApiJson<IntegrationPatch>,
) -> Result<Json<IntegrationView>, ApiError> {
    let change = IntegrationChange {
        enabled: body.enabled,
        oauth_app: body.oauth_app.map(|app| match app {
            None => OAuthAppChange::Remove,
            Some(app) => OAuthAppChange::Set {
                client_id: app.client_id,
                client_secret: app.client_secret.map(SecretString::from),
                scopes: app.scopes,
            },
        }),
    };
    let broker = &state.broker;
    let settings = broker
        .change_integration(
            &principal.project_id,
            principal.environment,
            &platform,
            change,
            &crate::auth::key_actor(&principal, address.as_deref()),
        )
        .await?;
    let integration = Integration {
        platform: broker.platform(&platform)?,
        settings: Some(settings),
    };
    Ok(Json(view(&state.settings.public_url, &integration)))
}
