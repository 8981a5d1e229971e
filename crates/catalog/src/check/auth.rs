//! OAuth 2 rules: `[auth.oauth2]` exists exactly for OAuth kinds; token URL always and authorize
//! URL only for the code flow; code-flow-only options stay off client credentials; scopes,
//! token headers and token-response pointers are well formed. Fills the defaults.

use std::collections::BTreeMap;

use super::inject::{field_template, is_header_name};
use super::report::Report;
use super::urls;
use crate::auth::{AuthKind, ClientCredentialFields, JsonPointer, OAuth2Config, TokenResponseMap};
use crate::field::FormField;
use crate::file::{OAuth2File, TokenResponseFile};

/// `Some(None)` for kinds without OAuth.
pub(super) fn compile(
    report: &mut Report<'_>,
    kind: AuthKind,
    raw: Option<OAuth2File>,
    internal: bool,
    fields: &[FormField],
) -> Option<Option<OAuth2Config>> {
    match (kind.is_oauth(), raw) {
        (false, None) => Some(None),
        (false, Some(_)) => {
            report.add(
                "auth.oauth2",
                format!("only OAuth kinds take [auth.oauth2]; kind is `{kind}`"),
            );
            None
        }
        (true, None) => {
            report.add(
                "auth.oauth2",
                format!("`{kind}` needs an [auth.oauth2] table"),
            );
            None
        }
        (true, Some(raw)) => oauth2(report, kind, raw, internal, fields).map(Some),
    }
}

fn oauth2(
    report: &mut Report<'_>,
    kind: AuthKind,
    raw: OAuth2File,
    internal: bool,
    fields: &[FormField],
) -> Option<OAuth2Config> {
    let at = |key: &str| format!("auth.oauth2.{key}");
    let mark = report.mark();
    let code_flow = kind == AuthKind::OAuth2AuthorizationCode;
    let authorize_url = match (&raw.authorize_url, code_flow) {
        (Some(url), true) => urls::absolute(report, &at("authorize_url"), url, internal),
        (None, true) => {
            report.add(
                at("authorize_url"),
                "required for oauth2_authorization_code",
            );
            None
        }
        (Some(_), false) => {
            report.add(
                at("authorize_url"),
                "only used by oauth2_authorization_code",
            );
            None
        }
        (None, false) => None,
    };
    if !code_flow && raw.pkce {
        report.add(at("pkce"), "only used by oauth2_authorization_code");
    }
    if !code_flow && !raw.extra_authorize_params.is_empty() {
        report.add(
            at("extra_authorize_params"),
            "only used by oauth2_authorization_code",
        );
    }
    let token_url = match &raw.token_url {
        Some(url) => urls::absolute(report, &at("token_url"), url, internal),
        None => {
            report.add(at("token_url"), "required for OAuth kinds");
            None
        }
    };
    let refresh_url = raw
        .refresh_url
        .as_deref()
        .and_then(|url| urls::absolute(report, &at("refresh_url"), url, internal));
    let scope_separator = raw
        .scope_separator
        .clone()
        .unwrap_or_else(|| " ".to_owned());
    if scope_separator.is_empty() {
        report.add(at("scope_separator"), "must not be empty");
    }
    for (index, scope) in raw.default_scopes.iter().enumerate() {
        let splits = !scope_separator.is_empty() && scope.contains(scope_separator.as_str());
        if scope.is_empty() || splits || scope.contains(char::is_whitespace) {
            report.add(
                format!("auth.oauth2.default_scopes[{index}]"),
                "a scope must be non-empty, without whitespace or the scope separator",
            );
        }
    }
    for name in raw.token_request_headers.keys() {
        if !is_header_name(name) {
            report.add(
                at(&format!("token_request_headers.{name}")),
                "is not a valid HTTP header name",
            );
        }
    }
    let issuer = match (&raw.issuer, code_flow) {
        (Some(text), true) => {
            // Compared as an exact string (RFC 9207); it must still be an https URL without query or
            // fragment (RFC 8414).
            let url = urls::absolute(report, &at("issuer"), text, internal);
            if url.is_some_and(|u| u.query().is_some() || u.fragment().is_some()) {
                report.add(at("issuer"), "must not have a query or fragment");
            }
            Some(text.clone())
        }
        (Some(_), false) => {
            report.add(at("issuer"), "only used by oauth2_authorization_code");
            None
        }
        (None, _) => None,
    };
    if raw.authorization_response_iss && raw.issuer.is_none() {
        report.add(
            at("authorization_response_iss"),
            "needs `issuer`: the `iss` the provider sends is checked against it",
        );
    }
    let token_response = token_response(report, raw.token_response.unwrap_or_default());
    let client_credentials = client_credentials(report, raw.client_id, raw.client_secret, fields);

    let token_url = token_url?;
    let authorize_url = if code_flow {
        Some(authorize_url?)
    } else {
        None
    };
    let client_credentials = client_credentials?;
    report.clean_since(mark).then(|| OAuth2Config {
        authorize_url,
        refresh_url: refresh_url.unwrap_or_else(|| token_url.clone()),
        token_url,
        default_scopes: raw.default_scopes,
        scope_separator,
        pkce: raw.pkce,
        client_auth: raw.client_auth,
        token_request_encoding: raw.token_request_encoding,
        extra_authorize_params: raw.extra_authorize_params,
        extra_token_params: raw.extra_token_params,
        token_request_headers: raw.token_request_headers,
        refresh_supported: raw.refresh_supported.unwrap_or(true),
        issuer,
        authorization_response_iss: raw.authorization_response_iss,
        token_response,
        client_credentials,
    })
}

fn token_response(report: &mut Report<'_>, raw: TokenResponseFile) -> TokenResponseMap {
    let mut map = TokenResponseMap::default();
    let entries = [
        ("access_token", raw.access_token, &mut map.access_token),
        ("refresh_token", raw.refresh_token, &mut map.refresh_token),
        ("expires_in", raw.expires_in, &mut map.expires_in),
        ("scope", raw.scope, &mut map.scope),
        ("token_type", raw.token_type, &mut map.token_type),
    ];
    for (key, text, slot) in entries {
        let Some(text) = text else { continue };
        match JsonPointer::parse(&text) {
            Some(pointer) => *slot = pointer,
            None => report.add(
                format!("auth.oauth2.token_response.{key}"),
                format!("`{text}` is not a JSON Pointer (like `/authed_user/access_token`)"),
            ),
        }
    }
    map
}

/// `Some(None)` when the file names no client-credential fields.
fn client_credentials(
    report: &mut Report<'_>,
    client_id: Option<String>,
    client_secret: Option<String>,
    fields: &[FormField],
) -> Option<Option<ClientCredentialFields>> {
    let declared = |name: &str| fields.iter().any(|field| field.name == name);
    match (client_id, client_secret) {
        (None, None) => Some(None),
        (Some(id), Some(secret)) => {
            let client_id = field_template(report, "auth.oauth2.client_id", &id, &declared);
            let client_secret =
                field_template(report, "auth.oauth2.client_secret", &secret, &declared);
            let secret_fields: BTreeMap<&str, bool> = fields
                .iter()
                .map(|field| (field.name.as_str(), field.secret))
                .collect();
            let client_secret = client_secret.filter(|template| {
                let all_secret = template
                    .variables()
                    .all(|name| secret_fields.get(name).copied().unwrap_or(true));
                if !all_secret || template.is_literal() {
                    report.add(
                        "auth.oauth2.client_secret",
                        "must be made of secret fields only",
                    );
                }
                all_secret && !template.is_literal()
            });
            Some(Some(ClientCredentialFields {
                client_id: client_id?,
                client_secret: client_secret?,
            }))
        }
        (Some(_), None) => {
            report.add(
                "auth.oauth2.client_secret",
                "client_id and client_secret go together",
            );
            None
        }
        (None, Some(_)) => {
            report.add(
                "auth.oauth2.client_id",
                "client_id and client_secret go together",
            );
            None
        }
    }
}
