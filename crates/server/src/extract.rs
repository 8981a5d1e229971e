//! Body extractors whose rejections speak the error shape: a malformed JSON body is a 400 `invalid_body`
//! saying what is wrong, never axum's plain-text rejection. No text in a JSON body may hold NUL
//! (U+0000): PostgreSQL cannot store it and nothing here means anything by it.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => {
                if holds_nul(&value) {
                    return Err(ApiError::bad_request(
                        "invalid_body",
                        "Text in the body must not contain NUL (U+0000)",
                    ));
                }
                serde_json::from_value(value).map(Self).map_err(|e| {
                    ApiError::bad_request(
                        "invalid_body",
                        format!("The body is not valid JSON for this route: {e}"),
                    )
                })
            }
            Err(rejection) => {
                let status = rejection.status();
                let code = match status {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    _ => "invalid_body",
                };
                let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
                    StatusCode::BAD_REQUEST
                } else {
                    status
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}

/// Whether any string value in `value` contains NUL (object keys are names the route checks itself).
fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map.values().any(holds_nul),
        _ => false,
    }
}

/// An empty body reads as `{}` (the AuthKit SDK may send nothing); anything else must be JSON.
pub struct JsonOrEmpty<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| ApiError::new(r.status(), "invalid_body", r.body_text()))?;
        let text = if bytes.iter().all(u8::is_ascii_whitespace) {
            &b"{}"[..]
        } else {
            &bytes[..]
        };
        serde_json::from_slice(text).map(Self).map_err(|e| {
            ApiError::bad_request(
                "invalid_body",
                format!("The body is not valid JSON for this route: {e}"),
            )
        })
    }
}

/// Whether a body error is `http_body_util::Limited` refusing a body over its limit (a 413, however deep
/// in the error's chain).
pub fn is_length_limit(e: &axum::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        next = err.source();
    }
    false
}
