//! URL templates (`base_url`, `test_request.path`) filled from non-secret form fields.
//! Invariant: a value can fill a host label or a path segment, never change the scheme, host,
//! port, user info, query or fragment: values holding `/ ? # @ : \ %`, whitespace, control
//! characters, or equal to `.`/`..` are refused.

use std::collections::BTreeMap;
use std::fmt;

use crate::template::{Template, TemplateError};

/// A [`Template`] whose variables are confined to one URL label or path segment each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate(Template);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlTemplateError {
    #[error("field `{name}` is required to build the URL")]
    MissingField { name: String },
    #[error("field `{name}` {reason}")]
    UnsafeValue { name: String, reason: &'static str },
    #[error("the rendered URL `{url}` does not parse: {reason}")]
    Unparseable { url: String, reason: String },
}

impl UrlTemplate {
    /// Wraps a template; the catalog checks have already confined where its variables sit.
    pub(crate) fn new(template: Template) -> Self {
        Self(template)
    }

    pub fn template(&self) -> &Template {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.0.variables()
    }

    /// Renders with form-field values, refusing any value that could escape its label or segment.
    pub fn render(&self, fields: &BTreeMap<String, String>) -> Result<String, UrlTemplateError> {
        for name in self.0.variables() {
            let value = fields
                .get(name)
                .ok_or_else(|| UrlTemplateError::MissingField {
                    name: name.to_owned(),
                })?;
            if let Some(reason) = unsafe_reason(value) {
                return Err(UrlTemplateError::UnsafeValue {
                    name: name.to_owned(),
                    reason,
                });
            }
        }
        self.0.render(fields).map_err(|err| match err {
            TemplateError::MissingVariable { name } => UrlTemplateError::MissingField { name },
            other => UrlTemplateError::Unparseable {
                url: self.0.as_str().to_owned(),
                reason: other.to_string(),
            },
        })
    }
}

impl fmt::Display for UrlTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn unsafe_reason(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return Some("is empty");
    }
    if value == "." || value == ".." {
        return Some("may not be `.` or `..`");
    }
    if value
        .chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '@' | ':' | '\\' | '%'))
    {
        return Some("may not contain any of / ? # @ : \\ %");
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("may not contain whitespace or control characters");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> UrlTemplate {
        UrlTemplate::new(
            Template::parse("https://{{subdomain}}.zendesk.com/api/v2").expect("valid"),
        )
    }

    fn fields(value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("subdomain".to_owned(), value.to_owned())])
    }

    #[test]
    fn renders_a_label() {
        assert_eq!(
            base().render(&fields("acme")).expect("renders"),
            "https://acme.zendesk.com/api/v2"
        );
    }

    #[test]
    fn refuses_host_changing_values() {
        for bad in [
            "evil.com/",
            "evil.com?",
            "evil.com#",
            "user@evil.com",
            "evil.com:443",
            "a b",
            "a\tb",
            "a\\b",
            "%2F",
            "",
            "..",
            "a\nb",
        ] {
            assert!(
                matches!(
                    base().render(&fields(bad)),
                    Err(UrlTemplateError::UnsafeValue { .. })
                ),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn missing_field_is_named() {
        assert_eq!(
            base().render(&BTreeMap::new()),
            Err(UrlTemplateError::MissingField {
                name: "subdomain".into()
            })
        );
    }
}
