//! What the connect modal does with an AuthKit session token (Keyway's own design, pica-compat §7.4):
//! list the environment's enabled integrations with their forms, and connect one for the session's
//! identity. Nothing else is reachable with a session token.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyway_broker::connect::{Channel, ConnectRequest, FormData, Owner};
use keyway_catalog::platform::Platform;
use keyway_core::connection::Connection;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::auth::AuthkitSessionAuth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::platform_view::image_url;
use crate::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModalIntegration {
    pub platform: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub image: String,
    /// `oauth2_authorization_code`, `oauth2_client_credentials`, `api_key`, `basic`, `bearer` or `none`.
    pub auth_kind: String,
    pub oauth: bool,
    pub docs_url: String,
    pub fields: Vec<ModalField>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModalField {
    pub name: String,
    pub label: String,
    pub placeholder: Option<String>,
    pub secret: bool,
    pub required: bool,
    /// A regular expression the value must match.
    pub pattern: Option<String>,
    pub help: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModalIntegrationList {
    pub rows: Vec<ModalIntegration>,
    pub total: u64,
    /// The project's branding defaults (set in the dashboard), for what the host page does not pass.
    pub branding: ModalBranding,
}

/// How the modal presents itself when the host page does not say; every field may be absent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModalBranding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// `light` or `dark`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_theme: Option<String>,
}

pub fn modal_integration(public_url: &str, p: &Platform) -> ModalIntegration {
    ModalIntegration {
        platform: p.slug().as_str().to_owned(),
        name: p.name().to_owned(),
        category: p.category().to_owned(),
        description: p.description().to_owned(),
        image: image_url(public_url, p),
        auth_kind: p.auth_kind().as_str().to_owned(),
        oauth: p.is_oauth(),
        docs_url: p.docs_url().to_string(),
        fields: p
            .fields()
            .iter()
            .map(|f| ModalField {
                name: f.name.clone(),
                label: f.label.clone(),
                placeholder: f.placeholder.clone(),
                secret: f.secret,
                required: f.required,
                pattern: f.pattern.as_ref().map(|r| r.as_str().to_owned()),
                help: f.help.clone(),
            })
            .collect(),
    }
}

/// The integrations this session may connect, with their connect forms.
#[utoipa::path(get, path = "/v1/authkit/integrations", tag = "authkit session", operation_id = "modal_list_integrations",
    security(("authkitSession" = [])),
    responses((status = 200, body = ModalIntegrationList), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn integrations(
    State(state): State<AppState>,
    AuthkitSessionAuth(session): AuthkitSessionAuth,
) -> Result<Json<ModalIntegrationList>, ApiError> {
    let rows: Vec<ModalIntegration> = state
        .broker
        .enabled_integrations(&session.project_id, session.environment)
        .await?
        .iter()
        .map(|i| modal_integration(&state.settings.public_url, i.platform))
        .collect();
    let branding = state
        .broker
        .branding(&session.project_id, session.environment)
        .await?;
    Ok(Json(ModalIntegrationList {
        total: rows.len() as u64,
        rows,
        branding: ModalBranding {
            company_name: branding.company_name,
            image_url: branding.logo_url,
            app_theme: branding.theme,
        },
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModalConnectRequest {
    pub platform: String,
    /// Field name → value, as the platform's connect form names them; values that do not fit the form
    /// are a 422.
    #[schema(schema_with = crate::input_schema::form_values)]
    pub form_data: BTreeMap<String, String>,
    #[schema(schema_with = crate::input_schema::name)]
    pub name: Option<String>,
}

impl std::fmt::Debug for ModalConnectRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModalConnectRequest")
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

/// The `LINK_SUCCESS` record (pica-compat §7.3): `key`, epoch-ms times, no credentials.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkRecord {
    #[serde(rename = "_id")]
    pub underscore_id: String,
    pub id: String,
    pub platform_version: String,
    pub connection_definition_id: String,
    pub name: Option<String>,
    pub key: String,
    pub environment: String,
    pub platform: String,
    pub secrets_service_id: String,
    pub identity: String,
    pub identity_type: String,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    #[schema(value_type = Object)]
    pub throughput: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated: bool,
    pub version: i64,
    pub last_modified_by: String,
    pub deleted: bool,
    pub tags: Vec<String>,
    pub active: bool,
    pub deprecated: bool,
    pub state: String,
}

pub fn link_record(c: &Connection, oauth: bool) -> LinkRecord {
    LinkRecord {
        underscore_id: c.id.clone(),
        id: c.id.clone(),
        platform_version: c.platform_version.clone(),
        connection_definition_id: format!("conn_def::{}", c.platform),
        name: c.name.clone(),
        key: c.key.to_string(),
        environment: c.environment.to_string(),
        platform: c.platform.clone(),
        secrets_service_id: String::new(),
        identity: c.identity.to_string(),
        identity_type: c.identity_type.as_str().to_owned(),
        settings: serde_json::json!({
            "parseWebhookBody": false, "showSecret": false, "allowCustomEvents": false, "oauth": oauth
        }),
        throughput: serde_json::json!({ "key": c.key.to_string(), "limit": 100 }),
        created_at: c.created_at.unix_millis(),
        updated_at: c.updated_at.unix_millis(),
        updated: false,
        version: c.version,
        last_modified_by: "system".into(),
        deleted: false,
        tags: c.tags.clone(),
        active: c.active,
        deprecated: false,
        state: c.state.as_str().to_owned(),
    }
}

/// Connect an API-key, Basic or Bearer integration for the session's identity.
#[utoipa::path(post, path = "/v1/authkit/connections", tag = "authkit session", operation_id = "modal_connect",
    security(("authkitSession" = [])),
    request_body = ModalConnectRequest,
    responses(
        (status = 201, body = LinkRecord),
        (status = 400, description = "Malformed body", body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse),
        (status = 403, description = "Integration not enabled", body = crate::error::ErrorResponse),
        (status = 404, description = "Unknown platform", body = crate::error::ErrorResponse),
        (status = 422, description = "An OAuth integration (oauth_required), form values invalid or credentials rejected", body = crate::error::ErrorResponse),
        (status = 502, body = crate::error::ErrorResponse)))]
pub async fn connect(
    State(state): State<AppState>,
    AuthkitSessionAuth(session): AuthkitSessionAuth,
    ApiJson(body): ApiJson<ModalConnectRequest>,
) -> Result<(StatusCode, Json<LinkRecord>), ApiError> {
    let owner = Owner {
        project_id: session.project_id,
        environment: session.environment,
        identity: session.identity,
        identity_type: session.identity_type,
    };
    let request = ConnectRequest {
        platform: body.platform,
        form: FormData(
            body.form_data
                .into_iter()
                .map(|(k, v)| (k, SecretString::from(v)))
                .collect(),
        ),
        name: body.name,
        tags: Vec::new(),
    };
    let connection = state
        .broker
        .connect_with_form(&owner, request, Channel::Authkit)
        .await?;
    let oauth = state
        .broker
        .catalog
        .get(&connection.platform)
        .is_some_and(Platform::is_oauth);
    Ok((StatusCode::CREATED, Json(link_record(&connection, oauth))))
}
