//! Error pages: what went wrong, in words, and a way back. A broker failure the person can fix shows its
//! message; a database that does not answer is a 503 page (never a hang: the pool gives up), anything
//! else a 500 page whose cause is only in the log.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use keyway_broker::error::BrokerError;

use super::{assets, page};

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    nonce: String,
    css: &'static str,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// A page explaining `message`.
pub fn problem(status: StatusCode, title: &str, message: &str) -> Response {
    let p = ProblemPage {
        nonce: page::nonce(),
        css: assets::css_url(),
        status: status.as_u16(),
        title,
        message,
    };
    page::html(status, &p.nonce, p.render())
}

/// The page for a broker failure: the API's status, and the broker's own message when it is meant for
/// people; a database that does not answer is a 503 page, anything internal a 500 page whose cause is
/// only in the log.
pub fn broker_problem(e: BrokerError) -> Response {
    use keyway_store::error::StoreError;
    if matches!(
        e,
        BrokerError::Store(StoreError::Query(_)) | BrokerError::Store(StoreError::Connect(_))
    ) {
        tracing::error!(error = %keyway_core::error_chain::ErrorChain(&e), "dashboard: database failed");
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Keyway cannot reach its database",
            "Nothing was changed. Try again in a moment; if it keeps happening, check that the database is running.",
        );
    }
    let message = e.to_string();
    let api = crate::error::ApiError::from(e);
    if api.status.is_server_error() {
        problem(api.status, "Something went wrong", &api.message)
    } else {
        problem(api.status, "That did not work", &message)
    }
}
