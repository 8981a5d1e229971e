//! Authentication extractors, one per auth boundary. A handler that takes `SecretKeyAuth` cannot run
//! without a valid, unrevoked secret key; the principal fixes project and environment for everything after.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use keyway_core::audit::{Actor, ActorKind};
use keyway_core::project::Principal;

use crate::error::ApiError;
use crate::AppState;

pub const PICA_SECRET: HeaderName = HeaderName::from_static("x-pica-secret");
pub const KEYWAY_SECRET: HeaderName = HeaderName::from_static("x-keyway-secret");

#[derive(Debug, Clone)]
pub struct SecretKeyAuth(pub Principal);

/// The peer address of the connection a request came on (set by `crate::App`).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// The client's address as this node sees it: the connection's peer (a proxy in front of Keyway is what
/// it sees). For the audit trail and sign-in throttling; never for authentication.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<PeerAddr>()
                .map(|p| p.0.ip().to_string()),
        ))
    }
}

/// Who a secret-key request is in the audit trail: the key (by id), from the client's address.
pub fn key_actor(principal: &Principal, address: Option<&str>) -> Actor {
    Actor {
        kind: ActorKind::SecretKey,
        id: Some(principal.key_id.to_string()),
        label: format!("{} key {}", principal.environment, principal.key_id),
        address: address.map(str::to_owned),
    }
}

impl FromRequestParts<AppState> for SecretKeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = header_pair(&parts.headers, &PICA_SECRET, &KEYWAY_SECRET)?;
        match state.broker.keys.authenticate(presented).await {
            Ok(Ok(principal)) => match state.rate_limiter.check(principal.key_id.as_str()).await {
                Ok(()) => Ok(Self(principal)),
                Err(wait) => Err(ApiError {
                    retry_after: Some(wait),
                    ..ApiError::new(
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        format!("Too many requests for this secret key; retry after {wait} s"),
                    )
                }),
            },
            Ok(Err(reason)) => {
                tracing::info!(%reason, "secret key refused");
                Err(ApiError::unauthorized())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Reads a header that may come under Pica's name or Keyway's alias (names are case-insensitive).
/// Both present with different values is a 400: we never guess which one was meant. The value is
/// trimmed and borrowed from the headers.
pub fn header_pair<'h>(
    headers: &'h HeaderMap,
    pica: &HeaderName,
    keyway: &HeaderName,
) -> Result<Option<&'h str>, ApiError> {
    let read = |name: &HeaderName| -> Result<Option<&'h str>, ApiError> {
        let mut values = headers.get_all(name).iter();
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(ApiError::bad_request(
                "conflicting_headers",
                format!("The {name} header was sent more than once"),
            ));
        }
        first.to_str().map(|v| Some(v.trim())).map_err(|_| {
            ApiError::bad_request(
                "invalid_header",
                format!("The {name} header is not valid text"),
            )
        })
    };
    match (read(pica)?, read(keyway)?) {
        (Some(a), Some(b)) if a != b => Err(ApiError::bad_request(
            "conflicting_headers",
            format!("The {pica} and {keyway} headers disagree; send one of them"),
        )),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// The connect modal's credential: `Authorization: Bearer akt_…`, a live AuthKit session. Everything a
/// session-authenticated handler does is bound to the session's project, environment and identity.
#[derive(Debug, Clone)]
pub struct AuthkitSessionAuth(pub keyway_store::authkit_sessions::AuthkitSession);

impl FromRequestParts<AppState> for AuthkitSessionAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let invalid = || {
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "invalid_session",
                "This connect session has expired or is not valid; close the window and start again",
            )
        };
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(invalid)?;
        match state.broker.authkit_session(token).await? {
            Some(session) => Ok(Self(session)),
            None => Err(invalid()),
        }
    }
}
