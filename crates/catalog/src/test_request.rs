//! The cheap request run at connect time to prove the credentials work.
//! Invariant: `path` starts with `/` and only uses non-secret fields; `body`, when present,
//! is valid JSON (sent as `application/json`).

use std::collections::BTreeMap;

use crate::url_template::{UrlTemplate, UrlTemplateError};

pub const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestRequest {
    /// Uppercase, one of [`METHODS`]; defaults to `GET`.
    pub method: String,
    /// Relative to the platform's base URL.
    pub path: UrlTemplate,
    /// Defaults to `[200]`.
    pub expect_status: Vec<u16>,
    pub body: Option<String>,
}

impl TestRequest {
    pub fn path_for(&self, fields: &BTreeMap<String, String>) -> Result<String, UrlTemplateError> {
        self.path.render(fields)
    }

    pub fn expects(&self, status: u16) -> bool {
        self.expect_status.contains(&status)
    }
}
