//! `{{name}}` templates used for base URLs and credential injection.
//! Invariant: a parsed [`Template`] has only well-formed variable names; rendering never leaves a
//! placeholder behind (a missing variable is an error, not an empty string).

use std::collections::BTreeMap;
use std::fmt;

/// A string with `{{variable}}` placeholders, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{{{{` at byte {at} is never closed with `}}}}`")]
    Unclosed { at: usize },
    #[error("`{name}` is not a variable name (expected a letter then letters, digits or `_`)")]
    InvalidName { name: String },
    #[error("no value for `{{{{{name}}}}}`")]
    MissingVariable { name: String },
}

impl Template {
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after_open = &rest[open + 2..];
            let close = after_open
                .find("}}")
                .ok_or(TemplateError::Unclosed { at: offset + open })?;
            let name = after_open[..close].trim();
            if !is_variable_name(name) {
                return Err(TemplateError::InvalidName {
                    name: name.to_owned(),
                });
            }
            parts.push(Part::Var(name.to_owned()));
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// A template with no placeholders.
    pub fn literal(text: &str) -> Self {
        let parts = if text.is_empty() {
            Vec::new()
        } else {
            vec![Part::Text(text.to_owned())]
        };
        Self {
            source: text.to_owned(),
            parts,
        }
    }

    /// `text{{name}}`, for defaults built from names the checks already accepted.
    pub(crate) fn text_then_variable(text: &str, name: &str) -> Self {
        Self {
            source: format!("{text}{{{{{name}}}}}"),
            parts: vec![Part::Text(text.to_owned()), Part::Var(name.to_owned())],
        }
    }

    /// The template as written in the catalog file.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Variable names in order of appearance (a name used twice appears twice).
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Var(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    pub fn is_literal(&self) -> bool {
        self.variables().next().is_none()
    }

    pub fn render(&self, vars: &BTreeMap<String, String>) -> Result<String, TemplateError> {
        self.render_with(|name| vars.get(name).map(String::as_str))
    }

    /// Renders with values from `lookup`, which sees each variable name in turn.
    pub fn render_with<'v>(
        &self,
        mut lookup: impl FnMut(&str) -> Option<&'v str>,
    ) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var(name) => {
                    let value = lookup(name)
                        .ok_or_else(|| TemplateError::MissingVariable { name: name.clone() })?;
                    out.push_str(value);
                }
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// `[a-zA-Z][a-zA-Z0-9_]*`: the shape of form-field names and template variables.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn lists_variables_in_order() {
        let t = Template::parse("{{email}}/token:{{ apiToken }}{{email}}").expect("valid");
        assert_eq!(
            t.variables().collect::<Vec<_>>(),
            ["email", "apiToken", "email"]
        );
        assert!(!t.is_literal());
        assert!(Template::parse("plain").expect("valid").is_literal());
    }

    #[test]
    fn renders_values() {
        let t = Template::parse("Bearer {{apiKey}}").expect("valid");
        assert_eq!(
            t.render(&vars(&[("apiKey", "k-1")])).expect("renders"),
            "Bearer k-1"
        );
    }

    #[test]
    fn missing_variable_is_an_error() {
        let t = Template::parse("Bearer {{apiKey}}").expect("valid");
        assert_eq!(
            t.render(&vars(&[])),
            Err(TemplateError::MissingVariable {
                name: "apiKey".into()
            })
        );
    }

    #[test]
    fn rejects_malformed_templates() {
        assert_eq!(
            Template::parse("a {{b"),
            Err(TemplateError::Unclosed { at: 2 })
        );
        assert!(matches!(
            Template::parse("{{1x}}"),
            Err(TemplateError::InvalidName { .. })
        ));
        assert!(matches!(
            Template::parse("{{}}"),
            Err(TemplateError::InvalidName { .. })
        ));
    }

    #[test]
    fn variable_names() {
        assert!(is_variable_name("apiToken"));
        assert!(is_variable_name("a_1"));
        assert!(!is_variable_name("_a"));
        assert!(!is_variable_name("a-b"));
        assert!(!is_variable_name(""));
    }
}
