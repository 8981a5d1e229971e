//! `test_request` rules: a known method, a path starting with `/` that only uses non-secret
//! fields, plausible expected statuses, and a JSON body only where a body makes sense.

use serde::de::IgnoredAny;

use super::report::Report;
use super::urls;
use crate::field::FormField;
use crate::file::TestRequestFile;
use crate::template::Template;
use crate::test_request::{TestRequest, METHODS};
use crate::url_template::UrlTemplate;

/// `Some(None)` when the file has no test request.
pub(super) fn compile(
    report: &mut Report<'_>,
    raw: Option<TestRequestFile>,
    fields: &[FormField],
) -> Option<Option<TestRequest>> {
    let Some(raw) = raw else {
        return Some(None);
    };
    let mark = report.mark();
    if !METHODS.contains(&raw.method.as_str()) {
        report.add(
            "test_request.method",
            format!("`{}` is not one of {}", raw.method, METHODS.join(", ")),
        );
    }
    if !raw.path.starts_with('/') {
        report.add("test_request.path", "must start with `/`");
    }
    if raw.path.contains('#') {
        report.add("test_request.path", "must not contain a fragment");
    }
    let path = match Template::parse(&raw.path) {
        Ok(template) => {
            urls::non_secret_variables(report, "test_request.path", &template, fields);
            Some(template)
        }
        Err(err) => {
            report.add("test_request.path", err.to_string());
            None
        }
    };
    if raw.expect_status.is_empty() {
        report.add(
            "test_request.expect_status",
            "must list at least one status",
        );
    }
    for (index, status) in raw.expect_status.iter().enumerate() {
        if !(100..=599).contains(status) {
            report.add(
                format!("test_request.expect_status[{index}]"),
                format!("{status} is not an HTTP status"),
            );
        }
    }
    if let Some(body) = &raw.body {
        if matches!(raw.method.as_str(), "GET" | "HEAD") {
            report.add("test_request.body", "GET and HEAD requests carry no body");
        }
        if let Err(err) = serde_json::from_str::<IgnoredAny>(body) {
            report.add("test_request.body", format!("is not valid JSON: {err}"));
        }
    }
    match path {
        Some(path) if report.clean_since(mark) => Some(Some(TestRequest {
            method: raw.method,
            path: UrlTemplate::new(path),
            expect_status: raw.expect_status,
            body: raw.body,
        })),
        _ => None,
    }
}
