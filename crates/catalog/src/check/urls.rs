//! URL rules: absolute, https (http only for `internal` platforms), no user info, no IP or local
//! hosts outside `internal`; and for `base_url`, fields may only fill labels in front of a fixed
//! domain or path segments, and only non-secret fields may appear.

use std::collections::BTreeSet;

use url::{Host, Url};

use super::report::Report;
use crate::field::FormField;
use crate::template::Template;
use crate::url_template::UrlTemplate;

pub(super) fn absolute(
    report: &mut Report<'_>,
    field: &str,
    text: &str,
    internal: bool,
) -> Option<Url> {
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(err) => {
            report.add(field, format!("`{text}` is not an absolute URL: {err}"));
            return None;
        }
    };
    let mark = report.mark();
    match url.scheme() {
        "https" => {}
        "http" if internal => {}
        "http" => report.add(
            field,
            "must use https (http is allowed only when internal = true)",
        ),
        other => report.add(field, format!("scheme `{other}` is not allowed; use https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        report.add(field, "must not contain a user name or password");
    }
    match url.host() {
        None => report.add(field, "has no host"),
        Some(_) if internal => {}
        Some(Host::Domain(domain)) if is_local_name(domain) => report.add(
            field,
            format!("`{domain}` is a local host name; only internal = true platforms may use one"),
        ),
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => report.add(
            field,
            "is an IP address; only internal = true platforms may use one",
        ),
        Some(Host::Domain(_)) => {}
    }
    report.clean_since(mark).then_some(url)
}

pub(super) fn base_url(
    report: &mut Report<'_>,
    text: &str,
    internal: bool,
    fields: &[FormField],
) -> Option<UrlTemplate> {
    const FIELD: &str = "base_url";
    let template = match Template::parse(text) {
        Ok(template) => template,
        Err(err) => {
            report.add(FIELD, err.to_string());
            return None;
        }
    };
    let mark = report.mark();
    non_secret_variables(report, FIELD, &template, fields);
    if text.contains(['?', '#']) {
        report.add(FIELD, "must not have a query or fragment");
    }
    if text.ends_with('/') {
        report.add(
            FIELD,
            "must not end with `/` (request paths start with one)",
        );
    }
    if !host_is_confined(text) {
        report.add(
            FIELD,
            "a field may only fill labels in front of a fixed domain (`{{subdomain}}.example.com`), never the whole host or the port",
        );
    }
    if let Ok(sample) = template.render_with(|_| Some("sample")) {
        absolute(report, FIELD, &sample, internal);
    }
    report.clean_since(mark).then(|| UrlTemplate::new(template))
}

/// Every variable must be a declared field with `secret = false`.
pub(super) fn non_secret_variables(
    report: &mut Report<'_>,
    at: &str,
    template: &Template,
    fields: &[FormField],
) {
    let names: BTreeSet<&str> = template.variables().collect();
    for name in names {
        match fields.iter().find(|field| field.name == name) {
            None => report.add(at, format!("`{{{{{name}}}}}` is not a declared field")),
            Some(field) if field.secret => report.add(
                at,
                format!("`{{{{{name}}}}}` is a secret field; URLs may only use fields with secret = false"),
            ),
            Some(_) => {}
        }
    }
}

/// Whether the last variable in the authority is followed by at least two fixed domain labels.
fn host_is_confined(text: &str) -> bool {
    let Some((_, after_scheme)) = text.split_once("://") else {
        return true;
    };
    let authority = after_scheme.split('/').next().unwrap_or_default();
    let Some(last_var_end) = authority.rfind("}}") else {
        return !authority.contains("{{");
    };
    let suffix = &authority[last_var_end + 2..];
    let host_suffix = match suffix.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => suffix,
    };
    let Some(labels) = host_suffix.strip_prefix('.') else {
        return false;
    };
    let labels: Vec<&str> = labels.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn is_local_name(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.');
    !domain.contains('.')
        || [".localhost", ".local", ".internal", ".home.arpa"]
            .iter()
            .any(|suffix| domain.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::host_is_confined;

    #[test]
    fn confinement() {
        assert!(host_is_confined("https://api.example.com/v1"));
        assert!(host_is_confined("https://{{sub}}.zendesk.com/api/v2"));
        assert!(host_is_confined("https://{{dc}}.api.mailchimp.com/3.0"));
        assert!(host_is_confined(
            "https://api.atlassian.com/ex/jira/{{cloudId}}"
        ));
        assert!(host_is_confined("http://{{sub}}.example.com:8080"));
        assert!(!host_is_confined("https://{{host}}/v1"));
        assert!(!host_is_confined("https://{{host}}.com/v1"));
        assert!(!host_is_confined("https://api.example.com:{{port}}"));
        assert!(!host_is_confined("https://{{a}}.example.{{tld}}"));
    }
}
