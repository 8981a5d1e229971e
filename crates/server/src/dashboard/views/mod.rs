//! One module per dashboard page.

pub mod accounts;
pub mod actions;
pub mod audit;
pub mod auth;
pub mod connection;
pub mod connections;
mod format;
pub mod home;
pub mod integrations;
pub mod keys;
pub mod requests;
pub mod settings;
pub mod try_modal;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A form with nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub struct Nothing {}

/// What a form sent by the page's script gets on success: 200 with the message to announce.
pub fn fetch_ok(message: &str) -> Response {
    let mut response = (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response();
    crate::dashboard::page::harden(&mut response, None);
    response
}
