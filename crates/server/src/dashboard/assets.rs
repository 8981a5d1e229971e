//! The dashboard's stylesheet and script, compiled in and served with their content hash in the URL
//! (so a cached copy is never stale).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../../../ui/dashboard/dashboard.css");
const JS: &str = include_str!("../../../../ui/dashboard/dashboard.js");

fn hash(text: &str) -> String {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    format!("{:016x}", h.finish())
}

static CSS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/dashboard/assets/dashboard.css?v={}", hash(CSS)));
static JS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/dashboard/assets/dashboard.js?v={}", hash(JS)));

pub fn css_url() -> &'static str {
    CSS_URL.as_str()
}

pub fn js_url() -> &'static str {
    JS_URL.as_str()
}

/// `GET /dashboard/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "dashboard.css" => ("text/css; charset=utf-8", CSS),
        "dashboard.js" => ("text/javascript; charset=utf-8", JS),
        _ => return super::chrome::not_found(),
    };
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response();
    super::page::harden(&mut response, None);
    response
}
