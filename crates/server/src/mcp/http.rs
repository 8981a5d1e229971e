//! `/mcp`: streamable HTTP (stateless JSON replies), behind the secret key. The middleware resolves the key
//! and the optional `x-keyway-identity`, `x-keyway-identity-type` and `x-keyway-permissions` headers into an
//! `McpScope` the tools read from the request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use keyway_core::identity::{Identity, IdentityType};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::tower::StreamableHttpService;
use rmcp::transport::StreamableHttpServerConfig;

use crate::auth::{header_pair, SecretKeyAuth};
use crate::error::ApiError;
use crate::mcp::scope::{McpScope, Permission};
use crate::mcp::tools::{KeywayTools, ScopeSource};
use crate::AppState;

pub const PATH: &str = "/mcp";
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
    match scope {
        Ok(scope) => {
            parts.extensions.insert(scope);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    }
}
