//! Injection rules: templates parse and name declared fields (or `accessToken` for OAuth kinds),
//! header names are valid, each kind injects what it must, and every secret field is sent
//! somewhere. Fills the defaults (OAuth → Bearer access token; `bearer` → its one secret field).

use std::collections::BTreeMap;

use super::report::Report;
use crate::auth::{AuthKind, OAuth2Config, ACCESS_TOKEN_VAR};
use crate::field::FormField;
use crate::file::InjectFile;
use crate::inject::{BasicInjection, Injection};
use crate::template::Template;

pub(super) fn compile(
    report: &mut Report<'_>,
    kind: AuthKind,
    raw: Option<InjectFile>,
    fields: &[FormField],
) -> Option<Injection> {
    let Some(raw) = raw else {
        return default_for(report, kind, fields);
    };
    if kind == AuthKind::None {
        report.add(
            "inject",
            "`none` platforms send no credentials; remove [inject]",
        );
        return None;
    }
    let mark = report.mark();
    let known = |name: &str| {
        fields.iter().any(|field| field.name == name)
            || (kind.is_oauth() && name == ACCESS_TOKEN_VAR)
    };
    let mut headers = BTreeMap::new();
    for (name, source) in &raw.headers {
        let at = format!("inject.headers.{name}");
        if !is_header_name(name) {
            report.add(&at, "is not a valid HTTP header name");
        }
        if let Some(template) = field_template(report, &at, source, &known) {
            headers.insert(name.clone(), template);
        }
    }
    let mut query = BTreeMap::new();
    for (name, source) in &raw.query {
        let at = format!("inject.query.{name}");
        if name.trim().is_empty() {
            report.add(&at, "query parameter name must not be empty");
        }
        if let Some(template) = field_template(report, &at, source, &known) {
            query.insert(name.clone(), template);
        }
    }
    let basic = raw.basic.as_ref().and_then(|basic| {
        if basic.username.is_empty() {
            report.add("inject.basic.username", "must not be empty");
        }
        let username = field_template(report, "inject.basic.username", &basic.username, &known);
        let password = field_template(report, "inject.basic.password", &basic.password, &known);
        Some(BasicInjection {
            username: username?,
            password: password?,
        })
    });
    if kind == AuthKind::Basic && raw.basic.is_none() {
        report.add(
            "inject.basic",
            "`basic` platforms need inject.basic with username and password templates",
        );
    }
    let injection = Injection {
        headers,
        query,
        basic,
    };
    if injection.is_empty() && report.clean_since(mark) {
        report.add("inject", "sends no credentials");
    }
    if kind.is_oauth() && !injection.variables().contains(ACCESS_TOKEN_VAR) {
        report.add("inject", "OAuth platforms must send `{{accessToken}}`");
    }
    report.clean_since(mark).then_some(injection)
}

fn default_for(report: &mut Report<'_>, kind: AuthKind, fields: &[FormField]) -> Option<Injection> {
    match kind {
        AuthKind::None => Some(Injection::default()),
        AuthKind::OAuth2AuthorizationCode | AuthKind::OAuth2ClientCredentials => {
            Some(bearer(ACCESS_TOKEN_VAR))
        }
        AuthKind::Bearer => {
            let secrets: Vec<&FormField> = fields.iter().filter(|field| field.secret).collect();
            match secrets.as_slice() {
                [only] => Some(bearer(&only.name)),
                // No secret field at all is reported by the field checks.
                [] => None,
                _ => {
                    report.add(
                        "inject",
                        "with several secret fields, say in [inject] which one to send",
                    );
                    None
                }
            }
        }
        AuthKind::ApiKey => {
            report.add(
                "inject",
                "`api_key` platforms must say in [inject] where the key goes",
            );
            None
        }
        AuthKind::Basic => {
            report.add(
                "inject.basic",
                "`basic` platforms need inject.basic with username and password templates",
            );
            None
        }
    }
}

fn bearer(variable: &str) -> Injection {
    Injection {
        headers: BTreeMap::from([(
            "Authorization".to_owned(),
            Template::text_then_variable("Bearer ", variable),
        )]),
        ..Injection::default()
    }
}

/// Parses a template whose variables must all satisfy `known`.
pub(super) fn field_template(
    report: &mut Report<'_>,
    at: &str,
    source: &str,
    known: &dyn Fn(&str) -> bool,
) -> Option<Template> {
    let template = match Template::parse(source) {
        Ok(template) => template,
        Err(err) => {
            report.add(at, err.to_string());
            return None;
        }
    };
    let mark = report.mark();
    for name in template.variables() {
        if !known(name) {
            report.add(at, format!("`{{{{{name}}}}}` is not a declared field"));
        }
    }
    report.clean_since(mark).then_some(template)
}

/// Every secret field must reach the platform (through [inject] or OAuth client credentials).
pub(super) fn check_secrets_are_sent(
    report: &mut Report<'_>,
    fields: &[FormField],
    injection: &Injection,
    oauth2: Option<&OAuth2Config>,
) {
    let injected = injection.variables();
    let client_fields: Vec<&str> = oauth2
        .and_then(|config| config.client_credentials.as_ref())
        .map(|creds| {
            creds
                .client_id
                .variables()
                .chain(creds.client_secret.variables())
                .collect()
        })
        .unwrap_or_default();
    for (index, field) in fields.iter().enumerate() {
        let name = field.name.as_str();
        if field.secret && !injected.contains(name) && !client_fields.contains(&name) {
            report.add(
                format!("fields[{index}].secret"),
                format!(
                    "secret field `{name}` is never sent; use it in [inject] or set secret = false"
                ),
            );
        }
    }
}

/// RFC 9110 token characters.
pub(super) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
