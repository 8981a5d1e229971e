//! Connect-form field rules: names are unique variable names, labels present, patterns compile,
//! and the secret fields match the auth kind (`none` takes none; key, bearer and basic need one).

use std::collections::BTreeSet;

use regex::Regex;

use super::report::Report;
use crate::auth::{AuthKind, ACCESS_TOKEN_VAR};
use crate::field::FormField;
use crate::file::FieldFile;
use crate::template::is_variable_name;

/// Every field comes back (a bad pattern as `None`) so later checks can still resolve names.
pub(super) fn compile(
    report: &mut Report<'_>,
    raw: &[FieldFile],
    kind: AuthKind,
) -> Vec<FormField> {
    let mut seen = BTreeSet::new();
    let mut fields = Vec::with_capacity(raw.len());
    for (index, field) in raw.iter().enumerate() {
        let at = |key: &str| format!("fields[{index}].{key}");
        if !is_variable_name(&field.name) {
            report.add(
                at("name"),
                format!(
                    "`{}` is not a field name (a letter, then letters, digits or `_`)",
                    field.name
                ),
            );
        } else if !seen.insert(field.name.as_str()) {
            report.add(at("name"), format!("duplicate field name `{}`", field.name));
        }
        if kind.is_oauth() && field.name == ACCESS_TOKEN_VAR {
            report.add(
                at("name"),
                "`accessToken` is reserved for the OAuth access token",
            );
        }
        if field.label.trim().is_empty() {
            report.add(at("label"), "must not be empty");
        }
        if kind == AuthKind::None && field.secret {
            report.add(
                at("secret"),
                "`none` platforms take no secrets; set secret = false",
            );
        }
        let pattern = field
            .pattern
            .as_deref()
            .and_then(|pattern| match Regex::new(pattern) {
                Ok(regex) => Some(regex),
                Err(err) => {
                    report.add(
                        at("pattern"),
                        format!("does not compile: {}", last_line(&err.to_string())),
                    );
                    None
                }
            });
        fields.push(FormField {
            name: field.name.clone(),
            label: field.label.clone(),
            placeholder: field.placeholder.clone(),
            secret: field.secret,
            required: field.required,
            pattern,
            help: field.help.clone(),
        });
    }
    let needs_secret = matches!(kind, AuthKind::ApiKey | AuthKind::Bearer | AuthKind::Basic);
    if needs_secret && !fields.iter().any(|field| field.secret) {
        report.add(
            "fields",
            format!("`{kind}` platforms need at least one secret field"),
        );
    }
    fields
}

/// Regex errors draw a caret diagram; the last line holds the reason.
fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or(text)
}
