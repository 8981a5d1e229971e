//! Who is signed in, from the session cookie, and what their role allows. Handlers take one of these
//! extractors, so a page or form cannot run for someone it is not for: `Signed` (any operator),
//! `Editor` (owners and admins: changes) and `OwnerOnly` (accounts). A missing, expired or revoked
//! session sends a page request to the sign-in page and refuses anything else.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use keyway_core::audit::Actor;
use keyway_core::operator::Operator;

use super::page::see_other;
use super::problem::problem;
use crate::auth::ClientAddress;
use crate::AppState;

pub const SESSION_COOKIE: &str = "keyway_session";
pub const PRESESSION_COOKIE: &str = "keyway_presession";
pub const COOKIE_PATH: &str = "/dashboard";

/// A signed-in operator, with the session token (for CSRF and sign-out) and the client's address.
#[derive(Debug, Clone)]
pub struct Signed {
    pub operator: Operator,
    pub token: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    pub address: Option<String>,
}

impl Signed {
    /// Who this operator's changes are recorded as.
    pub fn actor(&self) -> Actor {
        keyway_broker::operators::actor(&self.operator, self.address.as_deref())
    }
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    cookie_in(&parts.headers, name)
}

/// The value of cookie `name` in these headers, if any.
pub fn cookie_in<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// `Set-Cookie` for the session: script-inaccessible, sent only to the dashboard, `Secure` when the
/// public URL is https.
pub fn session_cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path={COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn is_secure(state: &AppState) -> bool {
    state.settings.public_url.starts_with("https://")
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let signed_out = |parts: &Parts| -> Response {
            if parts.method == Method::GET || parts.method == Method::HEAD {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .filter(|p| p.starts_with("/dashboard/"))
                    .unwrap_or("/dashboard");
                let location = format!(
                    "/dashboard/sign-in?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                see_other(&location, None)
            } else {
                problem(
                    StatusCode::UNAUTHORIZED,
                    "Signed out",
                    "Your session has ended, so nothing was changed. Sign in again and retry.",
                )
            }
        };
        let Some(token) = cookie(parts, SESSION_COOKIE).map(str::to_owned) else {
            return Err(signed_out(parts));
        };
        let found = state
            .broker
            .dashboard_session(&token)
            .await
            .map_err(super::problem::broker_problem)?;
        let Some((_, operator)) = found else {
            return Err(signed_out(parts));
        };
        let ClientAddress(address) = ClientAddress::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientAddress(None));
        Ok(Self {
            csrf: state.broker.csrf_token(&token),
            operator,
            token,
            address,
        })
    }
}

/// A signed-in owner or admin: may change settings, integrations, keys and connections.
#[derive(Debug, Clone)]
pub struct Editor(pub Signed);

impl FromRequestParts<AppState> for Editor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let signed = Signed::from_request_parts(parts, state).await?;
        if signed.operator.role.can_change() {
            Ok(Self(signed))
        } else {
            Err(forbidden(&signed))
        }
    }
}

/// A signed-in owner: may manage operator accounts.
#[derive(Debug, Clone)]
pub struct OwnerOnly(pub Signed);

impl FromRequestParts<AppState> for OwnerOnly {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let signed = Signed::from_request_parts(parts, state).await?;
        if signed.operator.role.can_manage_accounts() {
            Ok(Self(signed))
        } else {
            Err(forbidden(&signed))
        }
    }
}

fn forbidden(signed: &Signed) -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "Not allowed",
        &format!(
            "Your role ({}) does not allow this, so nothing was changed. An owner can change your role.",
            signed.operator.role
        ),
    )
}
