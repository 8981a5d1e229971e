//! `/v1/settings`: the key's project environment's settings (the dashboard's and developers' view).
//! A change applies to this node's next request at once (see `broker::settings`).

use axum::extract::State;
use axum::Json;
use keyway_broker::settings::SettingsChange;
use keyway_core::environment::Environment;
use keyway_core::project::ProjectSettings;
use serde::{Deserialize, Serialize};

use crate::auth::SecretKeyAuth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The environment of the secret key used: `test` or `live`. Each has its own settings.
    pub environment: String,
    /// Passthrough requests without an action id (`x-pica-action-id` or `x-keyway-action-id`) are refused
    /// with 400 `action_id_required`. Off by default.
    pub require_action_ids: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsPatch {
    /// Require (true) or stop requiring (false) an action id on every passthrough request.
    pub require_action_ids: Option<bool>,
}

fn view(environment: Environment, settings: ProjectSettings) -> SettingsView {
    SettingsView {
        environment: environment.as_str().to_owned(),
        require_action_ids: settings.require_action_ids,
    }
}

/// The settings of the key's project environment.
#[utoipa::path(get, path = "/v1/settings", tag = "settings", operation_id = "get_settings",
    security(("secretKey" = [])),
    responses((status = 200, body = SettingsView), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn show(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
) -> Result<Json<SettingsView>, ApiError> {
    let settings = state
        .broker
        .settings(&principal.project_id, principal.environment)
        .await?;
    Ok(Json(view(principal.environment, settings)))
}

/// Change settings of the key's project environment; omitted fields keep their value.
#[utoipa::path(patch, path = "/v1/settings", tag = "settings", operation_id = "update_settings",
    security(("secretKey" = [])),
    request_body = SettingsPatch,
    responses((status = 200, body = SettingsView), (status = 400, body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse)))]
pub async fn update(
    State(state): State<AppState>,
    SecretKeyAuth(principal): SecretKeyAuth,
    crate::auth::ClientAddress(address): crate::auth::ClientAddress,
    ApiJson(body): ApiJson<SettingsPatch>,
) -> Result<Json<SettingsView>, ApiError> {
    let change = SettingsChange {
        require_action_ids: body.require_action_ids,
    };
    let settings = state
        .broker
        .change_settings(
            &principal.project_id,
            principal.environment,
            change,
            &crate::auth::key_actor(&principal, address.as_deref()),
        )
        .await?;
    Ok(Json(view(principal.environment, settings)))
}
