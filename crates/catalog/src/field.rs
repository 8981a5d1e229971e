//! Connect-form fields: what a user types to connect (API keys, subdomains, account ids).
//! Invariant: names are valid template variables and unique within a platform; `pattern` is a
//! compiled regex. Secret fields are never used to build URLs.

use std::collections::BTreeMap;

use regex::Regex;

#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FormField {
    /// camelCase identifier, also the template variable name.
    pub name: String,
    pub label: String,
    pub placeholder: Option<String>,
    /// Defaults to `true`: a field is secret unless the file says otherwise.
    pub secret: bool,
    /// Defaults to `true`.
    pub required: bool,
    pub pattern: Option<Regex>,
    pub help: Option<String>,
}

impl FormField {
    /// Whether `value` satisfies this field's pattern (any value does when there is none).
    pub fn accepts(&self, value: &str) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|pattern| pattern.is_match(value))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldValueError {
    #[error("`{field}` is required")]
    Missing { field: String },
    #[error("`{field}` does not have the expected format")]
    PatternMismatch { field: String },
    #[error("`{field}` is not a field of this platform")]
    Unknown { field: String },
}

/// Checks submitted connect-form values against the fields; reports every problem.
/// Error messages never include the submitted values (they may be secrets).
pub fn check_values(
    fields: &[FormField],
    values: &BTreeMap<String, String>,
) -> Result<(), Vec<FieldValueError>> {
    let mut errors = Vec::new();
    for field in fields {
        match values.get(&field.name).filter(|value| !value.is_empty()) {
            None if field.required => errors.push(FieldValueError::Missing {
                field: field.name.clone(),
            }),
            Some(value) if !field.accepts(value) => errors.push(FieldValueError::PatternMismatch {
                field: field.name.clone(),
            }),
            _ => {}
        }
    }
    for name in values.keys() {
        if !fields.iter().any(|field| &field.name == name) {
            errors.push(FieldValueError::Unknown {
                field: name.clone(),
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, required: bool, pattern: Option<&str>) -> FormField {
        FormField {
            name: name.into(),
            label: name.into(),
            placeholder: None,
            secret: false,
            required,
            pattern: pattern.map(|p| Regex::new(p).expect("test pattern compiles")),
            help: None,
        }
    }

    #[test]
    fn reports_every_problem() {
        let fields = [
            field("subdomain", true, Some("^[a-z]+$")),
            field("email", true, None),
            field("note", false, None),
        ];
        let values = BTreeMap::from([
            ("subdomain".to_owned(), "ACME".to_owned()),
            ("extra".to_owned(), "x".to_owned()),
        ]);
        assert_eq!(
            check_values(&fields, &values),
            Err(vec![
                FieldValueError::PatternMismatch {
                    field: "subdomain".into()
                },
                FieldValueError::Missing {
                    field: "email".into()
                },
                FieldValueError::Unknown {
                    field: "extra".into()
                },
            ])
        );
    }

    #[test]
    fn accepts_good_values() {
        let fields = [field("subdomain", true, Some("^[a-z]+$"))];
        let values = BTreeMap::from([("subdomain".to_owned(), "acme".to_owned())]);
        assert_eq!(check_values(&fields, &values), Ok(()));
    }
}
