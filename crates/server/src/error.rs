//! The one error shape: `{"type":"error","code":"…","status":401,"message":"…","requestId":"…"}`.
//! `code` values are stable API; messages are written for a person; internal causes are logged, never sent.
//! The request id is filled in by `request_id::finish`, which sees the `ErrorBody` extension.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyway_broker::error::{ActionCheck, BrokerError};
use keyway_broker::operators::AccountError;
use serde::Serialize;

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Structured detail for validation errors, e.g. `{"fields":{"apiKey":"…"}}`.
    pub details: Option<serde_json::Value>,
    /// Seconds to wait before retrying (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

/// Carried in response extensions until the request id is known.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

/// The wire form, also used in the OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// Always `"error"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Stable machine-readable code, e.g. `unauthorized`, `unknown_parameter`, `not_found`.
    pub code: String,
    pub status: u16,
    pub message: String,
    pub request_id: String,
    /// Present on validation errors: which fields are wrong and why (never their values).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "You are not authorized to access this resource: send a valid secret key in the x-pica-secret (or x-keyway-secret) header",
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A failure the client cannot fix. The cause is logged here with the request's span; the client
    /// gets a generic message.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %ErrorChain(cause), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side; the request id identifies it in the server log",
        )
    }

    /// The error a bare status gets when nothing more specific was produced (framework rejections).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("not_found", "No such route"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "This route does not accept that method",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "Send the body as application/json",
            ),
            StatusCode::REQUEST_TIMEOUT => ("timeout", "The request took too long"),
            s if s.is_client_error() => ("bad_request", "The request is invalid"),
            _ => ("internal", "Something went wrong on our side"),
        };
        Self::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response.extensions_mut().insert(ErrorBody {
            code: self.code,
            message: self.message,
            details: self.details,
        });
        response
    }
}

impl From<BrokerError> for ApiError {
    fn from(e: BrokerError) -> Self {
        let message = e.to_string();
        match e {
            BrokerError::ProjectNotFound(_) | BrokerError::SecretKeyNotFound(_) => {
                Self::not_found(message)
            }
            BrokerError::ConnectionNotFound => Self::not_found("No connection with that id"),
            BrokerError::UnknownPlatform(_) => {
                Self::new(StatusCode::NOT_FOUND, "unknown_platform", message)
            }
            BrokerError::IntegrationDisabled(_) => {
                Self::new(StatusCode::FORBIDDEN, "integration_disabled", message)
            }
            // The request is well formed; the platform's catalog definition is what it does not fit.
            BrokerError::OAuthRequired(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "oauth_required", message)
            }
            BrokerError::InvalidInput(_) => Self::bad_request("invalid_body", message),
            BrokerError::InvalidField { field, .. } => Self {
                details: Some(serde_json::json!({ "fields": { field: &message } })),
                ..Self::bad_request("invalid_body", message)
            },
            BrokerError::Account(a) => account_error(a),
            BrokerError::InvalidForm(fields) => {
                let fields: serde_json::Map<String, serde_json::Value> = fields
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
                Self {
                    details: Some(serde_json::json!({ "fields": fields })),
                    ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_form", message)
                }
            }
            BrokerError::CredentialsRejected { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "credentials_rejected",
                message,
            ),
            BrokerError::PlatformUnreachable { .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "platform_unreachable", message)
            }
            BrokerError::NotOAuth(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "not_oauth", message)
            }
            // The environment's state, not the request, is what must change first.
            BrokerError::OAuthAppMissing(_) => {
                Self::new(StatusCode::CONFLICT, "oauth_app_missing", message)
            }
            BrokerError::OAuthStateInvalid => Self::bad_request("invalid_state", message),
            BrokerError::OAuthDenied { .. } => {
                Self::new(StatusCode::FORBIDDEN, "access_denied", message)
            }
            BrokerError::OAuthIssuerMismatch { .. } => {
                Self::bad_request("issuer_mismatch", message)
            }
            BrokerError::OAuthExchangeFailed { .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "oauth_exchange_failed", message)
            }
            // 401 as Pica's docs say ("token expired or revoked by user: have the user reconnect"); the
            // code tells it apart from `unauthorized`, a bad secret key.
            BrokerError::ConnectionRevoked { .. } => {
                Self::new(StatusCode::UNAUTHORIZED, "reconnect_required", message)
            }
            BrokerError::TokenEndpointUnavailable { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "platform_unavailable",
                message,
            ),
            BrokerError::ConnectionKeyNotFound => Self::not_found(
                "Invalid connection header: no connection with that key in this environment",
            ),
            BrokerError::InvalidPath(_) => Self::bad_request("invalid_path", message),
            BrokerError::EgressRefused(_) => {
                Self::new(StatusCode::FORBIDDEN, "egress_refused", message)
            }
            BrokerError::UpstreamTimeout { .. } => {
                Self::new(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", message)
            }
            BrokerError::UpstreamUnreachable { .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "upstream_unreachable", message)
            }
            BrokerError::InvalidActionId => Self::bad_request("invalid_action_id", message),
            BrokerError::UnknownAction(_) => Self::bad_request("unknown_action", message),
            BrokerError::ActionMismatch { check, .. } => Self::bad_request(
                match check {
                    ActionCheck::Platform => "action_platform_mismatch",
                    ActionCheck::Method => "action_method_mismatch",
                    ActionCheck::Path => "action_path_mismatch",
                },
                message,
            ),
            BrokerError::Store(_)
            | BrokerError::Crypto(_)
            | BrokerError::WrongMasterKey { .. }
            | BrokerError::MasterKeyMissing { .. } => Self::internal(&e),
        }
    }
}

fn account_error(e: AccountError) -> ApiError {
    let message = e.to_string();
    let (status, code) = match e {
        AccountError::LinkInvalid => (StatusCode::GONE, "link_invalid"),
        AccountError::AlreadySetUp => (StatusCode::CONFLICT, "already_set_up"),
        AccountError::LastOwner => (StatusCode::CONFLICT, "last_owner"),
        AccountError::NotFound => (StatusCode::NOT_FOUND, "operator_not_found"),
        AccountError::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
        AccountError::InvalidEmail(_) => (StatusCode::BAD_REQUEST, "invalid_email"),
        AccountError::WeakPassword(_) => (StatusCode::BAD_REQUEST, "weak_password"),
        AccountError::WrongCredentials => (StatusCode::UNAUTHORIZED, "wrong_credentials"),
        AccountError::Throttled(seconds) => {
            return ApiError {
                retry_after: Some(seconds),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            }
        }
    };
    ApiError::new(status, code, message)
}

/// Renders the final JSON body.
pub fn render(status: StatusCode, body: &ErrorBody, request_id: &str) -> Response {
    let wire = ErrorResponse {
        kind: "error",
        code: body.code.to_owned(),
        status: status.as_u16(),
        message: body.message.clone(),
        request_id: request_id.to_owned(),
        details: body.details.clone(),
    };
    let mut response = (status, axum::Json(wire)).into_response();
    response.extensions_mut().insert(body.clone());
    response
}

pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Something went wrong on our side",
    )
    .into_response()
}

pub use keyway_core::error_chain::ErrorChain;

/// The error shape's bytes, for replies written below the router (`listen`).
pub fn json_body(status: StatusCode, code: &str, message: &str, request_id: &str) -> Vec<u8> {
    let wire = ErrorResponse {
        kind: "error",
        code: code.to_owned(),
        status: status.as_u16(),
        message: message.to_owned(),
        request_id: request_id.to_owned(),
        details: None,
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}
