//! The connect modal (pica-compat §7): the page `@picahq/authkit` frames as its `baseUrl`, its assets, and
//! `/authkit.js` for pages without React. Static files from `ui/`, compiled in. Invariants: the page is
//! frameable (no `X-Frame-Options`), runs only its own scripts and styles, and never redirects.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("../../../../ui/authkit/index.html");
const APP_JS: &str = include_str!("../../../../ui/authkit/app.js");
const APP_CSS: &str = include_str!("../../../../ui/authkit/app.css");
const EMBED_JS: &str = include_str!("../../../../ui/authkit.js");

/// Only the page's own scripts and styles; images from anywhere (platform logos, the host's `imageUrl`);
/// `connect-src` must reach the customer's token endpoint, wherever it is. No `frame-ancestors`: any
/// page may frame the modal, which is why it holds nothing but a short-lived session token.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: https: http:; connect-src 'self' https: http:; base-uri 'none'; form-action 'none'";

const REVALIDATE: &str = "no-cache";
/// Assets are requested with `?v={content hash}`, so a cached copy is never stale.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The page, with asset URLs carrying their content hash (relative, so a path prefix in front of
/// Keyway keeps working).
static PAGE_HTML: LazyLock<String> = LazyLock::new(|| {
    PAGE.replace(
        "{{APP_CSS}}",
        &format!("authkit/app.css?v={}", hash(APP_CSS)),
    )
    .replace("{{APP_JS}}", &format!("authkit/app.js?v={}", hash(APP_JS)))
});

fn hash(text: &str) -> String {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn respond(content_type: &'static str, cache: &'static str, body: &'static str) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response();
    if content_type.starts_with("text/html") {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    }
    response
}

/// `GET /authkit`: the connect modal.
pub async fn page() -> Response {
    respond("text/html; charset=utf-8", REVALIDATE, PAGE_HTML.as_str())
}

/// `GET /authkit/app.js`
pub async fn app_js() -> Response {
    respond("text/javascript; charset=utf-8", IMMUTABLE, APP_JS)
}

/// `GET /authkit/app.css`
pub async fn app_css() -> Response {
    respond("text/css; charset=utf-8", IMMUTABLE, APP_CSS)
}

/// `GET /authkit.js`: `KeywayAuthKit.open({...})` for pages without React; loaded by other origins.
pub async fn embed_js() -> Response {
    let mut response = respond(
        "text/javascript; charset=utf-8",
        "public, max-age=300",
        EMBED_JS,
    );
    response.headers_mut().insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    response
}
