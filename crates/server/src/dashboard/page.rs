//! How every dashboard response leaves: HTML with a per-response CSP nonce and the dashboard's headers,
//! redirects after a form, and the error pages. Dashboard responses carry `KeepBody`, so the API's JSON
//! error shaping leaves them alone.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::request_id::KeepBody;

/// A fresh nonce for one response's scripts.
pub fn nonce() -> String {
    keyway_crypto::random::hex::<16>()
}

/// Only the response's own nonce-carrying scripts; styles, images and frames from Keyway itself (the
/// "Try the modal" page frames `/authkit`); forms post only to Keyway; nobody may frame the dashboard.
fn csp(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self' data: https:; \
         connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'; object-src 'none'"
    )
}

/// Headers on every dashboard response.
pub fn harden(response: &mut Response, nonce: Option<&str>) {
    let h = response.headers_mut();
    if let Some(nonce) = nonce {
        if let Ok(v) = HeaderValue::from_str(&csp(nonce)) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    } else {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        );
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response.extensions_mut().insert(KeepBody);
}

/// A rendered page. A template that failed to render is logged and becomes the generic error page.
pub fn html(status: StatusCode, nonce: &str, rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(body) => {
            let mut response = (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
                .into_response();
            harden(&mut response, Some(nonce));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "dashboard template failed to render");
            plain_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; the server log has the details.",
            )
        }
    }
}

/// `303 See Other` to `location` (after a form), optionally carrying a one-time message.
pub fn see_other(location: &str, flash: Option<super::chrome::Flash>) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response();
    if let Some(flash) = flash {
        if let Ok(v) = HeaderValue::from_str(&flash.cookie()) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    harden(&mut response, None);
    response
}

/// The last-resort error page: no template, no script.
pub fn plain_error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Keyway</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body><main><h1>{}</h1><p>{}</p><p><a href=\"/dashboard\">Back to the dashboard</a></p></main></body></html>",
        status.canonical_reason().unwrap_or("Error"),
        escape(message)
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    harden(&mut response, None);
    response
}

/// Text made safe inside HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
