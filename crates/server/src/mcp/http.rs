//! `/mcp`: streamable HTTP (stateless JSON replies), behind the secret key. The middleware resolves the key
//! and the optional `x-keyway-identity`, `x-keyway-identity-type` and `x-keyway-permissions` headers into an
//! `McpScope` the tools read from the request.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use keyway_core::identity::{Identity, IdentityType};
use rmcp::model::{ClientJsonRpcMessage, ErrorCode};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::tower::StreamableHttpService;
use rmcp::transport::StreamableHttpServerConfig;

use crate::auth::{header_pair, SecretKeyAuth};
use crate::error::ApiError;
use crate::mcp::scope::{McpScope, Permission};
use crate::mcp::tools::{KeywayTools, ScopeSource};
use crate::request_id::KeepBody;
use crate::AppState;

pub const PATH: &str = "/mcp";
/// Largest JSON-RPC message accepted (rmcp's own default, set explicitly so our check and rmcp's agree).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
const PICA_IDENTITY: HeaderName = HeaderName::from_static("x-pica-identity");
const KEYWAY_IDENTITY: HeaderName = HeaderName::from_static("x-keyway-identity");
const PICA_IDENTITY_TYPE: HeaderName = HeaderName::from_static("x-pica-identity-type");
const KEYWAY_IDENTITY_TYPE: HeaderName = HeaderName::from_static("x-keyway-identity-type");
const PICA_PERMISSIONS: HeaderName = HeaderName::from_static("x-pica-permissions");
const KEYWAY_PERMISSIONS: HeaderName = HeaderName::from_static("x-keyway-permissions");

pub fn router(state: AppState) -> Router<AppState> {
    let broker = state.broker.clone();
    let public_url = state.settings.public_url.clone();
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Ok(url) = url::Url::parse(&public_url) {
        if let Some(host) = url.host_str() {
            hosts.push(host.to_owned());
        }
    }
    let config = StreamableHttpServerConfig::default()
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_json_response(true)
        .with_legacy_session_mode(false)
        .with_allowed_hosts(hosts);
    let service = StreamableHttpService::new(
        move || {
            Ok(KeywayTools::new(
                (*broker).clone(),
                ScopeSource::PerRequest,
                public_url.clone(),
            ))
        },
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .nest_service(PATH, service)
        .layer(axum::middleware::from_fn_with_state(state, require_scope))
}

async fn require_scope(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let scope = async {
        let SecretKeyAuth(principal) = <SecretKeyAuth as axum::extract::FromRequestParts<
            AppState,
        >>::from_request_parts(&mut parts, &state)
        .await?;
        let identity = match header_pair(&parts.headers, &PICA_IDENTITY, &KEYWAY_IDENTITY)? {
            None => None,
            Some(i) => {
                let identity = Identity::parse(i)
                    .map_err(|e| ApiError::bad_request("invalid_identity", e.to_string()))?;
                let kind = header_pair(&parts.headers, &PICA_IDENTITY_TYPE, &KEYWAY_IDENTITY_TYPE)?
                    .map(|t| t.parse::<IdentityType>())
                    .transpose()
                    .map_err(|e| ApiError::bad_request("invalid_identity", e.to_string()))?;
                Some((identity, kind))
            }
        };
        let permission = header_pair(&parts.headers, &PICA_PERMISSIONS, &KEYWAY_PERMISSIONS)?
            .map(|p| p.parse::<Permission>())
            .transpose()
            .map_err(|e| ApiError::bad_request("invalid_parameter", e))?
            .unwrap_or(Permission::Write);
        Ok::<_, ApiError>(McpScope {
            principal,
            identity,
            permission,
        })
    }
    .await;
    let scope = match scope {
        Ok(scope) => scope,
        Err(e) => return e.into_response(),
    };
    parts.extensions.insert(scope);
    let body = if parts.method == Method::POST && is_json(&parts.headers) {
        match checked_message(body).await {
            Ok(bytes) => Body::from(bytes),
            Err(refused) => return refused,
        }
    } else {
        body
    };
    next.run(Request::from_parts(parts, body)).await
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads a JSON body and answers what JSON-RPC 2.0 prescribes when it is not a message rmcp can take:
/// -32700 (parse error) for a body that is not JSON, -32600 (invalid request) for JSON that is not a
/// JSON-RPC message, both as HTTP 400 with `"id": null` (rmcp would answer 415, which blames the
/// content type). A body rmcp can take is handed on unchanged.
async fn checked_message(body: Body) -> Result<Bytes, Response> {
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) if crate::extract::is_length_limit(&e) => {
            return Err(ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE).into_response())
        }
        Err(_) => {
            return Err(
                ApiError::bad_request("invalid_body", "The request body could not be read")
                    .into_response(),
            )
        }
    };
    if serde_json::from_slice::<ClientJsonRpcMessage>(&bytes).is_ok() {
        return Ok(bytes);
    }
    let (code, message) = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Err(e) => (
            ErrorCode::PARSE_ERROR,
            format!(
                "Parse error: the body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        ),
        Ok(_) => (
            ErrorCode::INVALID_REQUEST,
            "Invalid Request: the body is JSON but not a JSON-RPC 2.0 request, notification or \
             response this server understands"
                .to_owned(),
        ),
    };
    let reply = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": code.0, "message": message},
    });
    let mut response = (StatusCode::BAD_REQUEST, axum::Json(reply)).into_response();
    // Already the protocol's own error shape: not to be rewritten into the API's.
    response.extensions_mut().insert(KeepBody);
    Err(response)
}
