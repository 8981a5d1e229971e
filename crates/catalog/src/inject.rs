//! How credentials reach upstream requests: header, query and HTTP Basic templates.
//! Invariant: every variable refers to a declared form field or, for OAuth kinds, to
//! `accessToken`; rendered output holds secrets, so it is zeroized on drop and never printed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use zeroize::Zeroize;

use crate::template::{Template, TemplateError};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Injection {
    /// Header name → value template.
    pub headers: BTreeMap<String, Template>,
    /// Query parameter → value template.
    pub query: BTreeMap<String, Template>,
    pub basic: Option<BasicInjection>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicInjection {
    pub username: Template,
    /// Empty when the file leaves it out.
    pub password: Template,
}

impl Injection {
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.query.is_empty() && self.basic.is_none()
    }

    /// Every template with a dotted name saying where it sits (`headers.Authorization`, …).
    pub fn templates(&self) -> impl Iterator<Item = (String, &Template)> {
        let headers = self
            .headers
            .iter()
            .map(|(name, t)| (format!("headers.{name}"), t));
        let query = self
            .query
            .iter()
            .map(|(name, t)| (format!("query.{name}"), t));
        let basic = self.basic.iter().flat_map(|basic| {
            [
                ("basic.username".to_owned(), &basic.username),
                ("basic.password".to_owned(), &basic.password),
            ]
        });
        headers.chain(query).chain(basic)
    }

    /// Every variable the templates use.
    pub fn variables(&self) -> BTreeSet<&str> {
        self.templates()
            .flat_map(|(_, template)| template.variables())
            .collect()
    }

    /// Fills the templates from form-field values (plus `accessToken` for OAuth kinds).
    pub fn render(
        &self,
        vars: &BTreeMap<String, String>,
    ) -> Result<RenderedInjection, TemplateError> {
        let render_all = |map: &BTreeMap<String, Template>| {
            map.iter()
                .map(|(name, t)| Ok((name.clone(), t.render(vars)?)))
                .collect::<Result<Vec<_>, TemplateError>>()
        };
        let basic = match &self.basic {
            Some(basic) => Some(BasicCredentials {
                username: basic.username.render(vars)?,
                password: basic.password.render(vars)?,
            }),
            None => None,
        };
        Ok(RenderedInjection {
            headers: render_all(&self.headers)?,
            query: render_all(&self.query)?,
            basic,
        })
    }
}

/// Credentials ready to attach to one upstream request.
pub struct RenderedInjection {
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    basic: Option<BasicCredentials>,
}

pub struct BasicCredentials {
    pub username: String,
    pub password: String,
}

impl RenderedInjection {
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }

    pub fn basic(&self) -> Option<&BasicCredentials> {
        self.basic.as_ref()
    }
}

impl fmt::Debug for RenderedInjection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names =
            |pairs: &[(String, String)]| pairs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        f.debug_struct("RenderedInjection")
            .field("headers", &names(&self.headers))
            .field("query", &names(&self.query))
            .field("basic", &self.basic.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicCredentials([redacted])")
    }
}

impl Drop for RenderedInjection {
    fn drop(&mut self) {
        for (_, value) in self.headers.iter_mut().chain(self.query.iter_mut()) {
            value.zeroize();
        }
    }
}

impl Drop for BasicCredentials {
    fn drop(&mut self) {
        self.username.zeroize();
        self.password.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(source: &str) -> Template {
        Template::parse(source).expect("valid template")
    }

    #[test]
    fn renders_every_place() {
        let injection = Injection {
            headers: BTreeMap::from([("x-api-key".to_owned(), t("{{apiKey}}"))]),
            query: BTreeMap::from([("token".to_owned(), t("{{token}}"))]),
            basic: Some(BasicInjection {
                username: t("{{email}}/token"),
                password: t("{{apiKey}}"),
            }),
        };
        let vars = BTreeMap::from([
            ("apiKey".to_owned(), "k".to_owned()),
            ("token".to_owned(), "t".to_owned()),
            ("email".to_owned(), "a@b.c".to_owned()),
        ]);
        let rendered = injection.render(&vars).expect("renders");
        assert_eq!(
            rendered.headers(),
            [("x-api-key".to_owned(), "k".to_owned())]
        );
        assert_eq!(rendered.query(), [("token".to_owned(), "t".to_owned())]);
        let basic = rendered.basic().expect("basic");
        assert_eq!(
            (basic.username.as_str(), basic.password.as_str()),
            ("a@b.c/token", "k")
        );
        assert_eq!(
            injection.variables().into_iter().collect::<Vec<_>>(),
            ["apiKey", "email", "token"]
        );
    }

    #[test]
    fn debug_never_shows_values() {
        let injection = Injection {
            headers: BTreeMap::from([("Authorization".to_owned(), t("Bearer {{k}}"))]),
            ..Injection::default()
        };
        let vars = BTreeMap::from([("k".to_owned(), "sk_live_secret".to_owned())]);
        let shown = format!("{:?}", injection.render(&vars).expect("renders"));
        assert!(shown.contains("Authorization"));
        assert!(!shown.contains("sk_live_secret"));
    }
}
