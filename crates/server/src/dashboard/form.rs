//! Form posts: the body (URL-encoded, at most 64 KiB) decoded into the handler's type after its CSRF
//! token was checked. Signed-in forms carry the session's token (`Submitted`); the sign-in, setup and
//! password forms carry one derived from a pre-session cookie (`PublicForm`: signed double submit).
//! Either way a cross-site request (`Sec-Fetch-Site: cross-site`) is refused. A form sent by the page's
//! script (`x-keyway-fetch: 1`) gets a status instead of a redirect.

// A rejected form is answered with a page: the `Response` is the error, as axum's rejections are.
#![allow(clippy::result_large_err)]

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::problem::problem;
use super::session::{cookie, PRESESSION_COOKIE, SESSION_COOKIE};
use crate::AppState;

const MAX_FORM_BYTES: usize = 64 * 1024;
pub const CSRF_FIELD: &str = "_csrf";

/// A checked form, and whether the page's script sent it.
#[derive(Debug)]
pub struct Submitted<T> {
    pub form: T,
    pub fetch: bool,
}

/// A checked form posted before any session exists (sign-in, setup, choosing a password).
#[derive(Debug)]
pub struct PublicForm<T>(pub T);

fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
}

fn expired() -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The page was open too long or came from somewhere else, so nothing was changed. Go back, reload the page and try again.",
    )
}

async fn read<T: DeserializeOwned>(
    req: Request,
    state: &AppState,
    expected: impl Fn(&Parts) -> Option<String>,
) -> Result<T, Response> {
    let (parts, body) = req.into_parts();
    if cross_site(&parts.headers) {
        return Err(expired());
    }
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much",
                "That form is larger than Keyway accepts.",
            )
        })?;
    let presented = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let expected_ok = match expected(&parts) {
        Some(value) => state.broker.csrf_matches(&value, &presented),
        None => false,
    };
    if !expected_ok {
        return Err(expired());
    }
    decode::<T>(&bytes)
}

fn decode<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Response> {
    serde_urlencoded::from_bytes::<T>(bytes).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "That form is not right",
            &format!("Keyway could not read the form ({e}); nothing was changed."),
        )
    })
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Submitted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let fetch = req
            .headers()
            .get("x-keyway-fetch")
            .is_some_and(|v| v == "1");
        let form = read(req, state, |parts| {
            cookie(parts, SESSION_COOKIE).map(str::to_owned)
        })
        .await?;
        Ok(Self { form, fetch })
    }
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PublicForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let form = read(req, state, |parts| {
            cookie(parts, PRESESSION_COOKIE).map(str::to_owned)
        })
        .await?;
        Ok(Self(form))
    }
}

/// A form field that browsers send as "on" when checked and omit otherwise.
pub fn checked(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| v == "on" || v == "true" || v == "1")
}
