//! How a platform authenticates: the auth kind and, for OAuth 2 kinds, the provider's endpoints
//! and quirks. Invariant: URLs here are absolute and already checked (https unless the platform
//! is `internal`); pointers into token responses are valid RFC 6901 JSON Pointers.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use url::Url;

use crate::template::Template;

/// The variable that holds the OAuth access token in injection templates.
pub const ACCESS_TOKEN_VAR: &str = "accessToken";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    #[serde(rename = "oauth2_authorization_code")]
    OAuth2AuthorizationCode,
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials,
    ApiKey,
    Basic,
    Bearer,
    None,
}

impl AuthKind {
    pub const ALL: [AuthKind; 6] = [
        AuthKind::OAuth2AuthorizationCode,
        AuthKind::OAuth2ClientCredentials,
        AuthKind::ApiKey,
        AuthKind::Basic,
        AuthKind::Bearer,
        AuthKind::None,
    ];

    pub fn is_oauth(self) -> bool {
        matches!(
            self,
            AuthKind::OAuth2AuthorizationCode | AuthKind::OAuth2ClientCredentials
        )
    }

    /// The spelling used in catalog files.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::OAuth2AuthorizationCode => "oauth2_authorization_code",
            AuthKind::OAuth2ClientCredentials => "oauth2_client_credentials",
            AuthKind::ApiKey => "api_key",
            AuthKind::Basic => "basic",
            AuthKind::Bearer => "bearer",
            AuthKind::None => "none",
        }
    }
}

impl fmt::Display for AuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the client id and secret are sent to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `Authorization: Basic base64(client_id:client_secret)`.
    Basic,
    /// `client_id` and `client_secret` as request parameters.
    #[default]
    Body,
}

/// Body encoding of token requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEncoding {
    /// `application/x-www-form-urlencoded`, as RFC 6749 specifies.
    #[default]
    Form,
    /// `application/json`.
    Json,
}

/// An RFC 6901 JSON Pointer: empty (the whole document) or starting with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPointer(String);

impl JsonPointer {
    pub fn parse(text: &str) -> Option<Self> {
        let escapes_ok = text
            .match_indices('~')
            .all(|(at, _)| matches!(text.as_bytes().get(at + 1), Some(b'0' | b'1')));
        (text.is_empty() || text.starts_with('/'))
            .then_some(())
            .filter(|()| escapes_ok)
            .map(|()| Self(text.to_owned()))
    }

    /// Usable directly with `serde_json::Value::pointer`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn standard(key: &str) -> Self {
        Self(format!("/{key}"))
    }
}

/// Where each standard token-response member lives in this provider's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponseMap {
    pub access_token: JsonPointer,
    pub refresh_token: JsonPointer,
    pub expires_in: JsonPointer,
    pub scope: JsonPointer,
    pub token_type: JsonPointer,
}

impl Default for TokenResponseMap {
    fn default() -> Self {
        Self {
            access_token: JsonPointer::standard("access_token"),
            refresh_token: JsonPointer::standard("refresh_token"),
            expires_in: JsonPointer::standard("expires_in"),
            scope: JsonPointer::standard("scope"),
            token_type: JsonPointer::standard("token_type"),
        }
    }
}

/// Templates naming the form fields that hold a connection's own OAuth client credentials
/// (typical for client-credentials platforms where each user brings an API app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentialFields {
    pub client_id: Template,
    pub client_secret: Template,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuth2Config {
    /// Present exactly for `oauth2_authorization_code`.
    pub authorize_url: Option<Url>,
    pub token_url: Url,
    /// Defaults to `token_url`.
    pub refresh_url: Url,
    pub default_scopes: Vec<String>,
    /// Defaults to a single space.
    pub scope_separator: String,
    /// Use PKCE with `S256`.
    pub pkce: bool,
    pub client_auth: ClientAuth,
    pub token_request_encoding: TokenEncoding,
    pub extra_authorize_params: BTreeMap<String, String>,
    pub extra_token_params: BTreeMap<String, String>,
    /// Extra headers on token and refresh requests (e.g. `Accept: application/json` for GitHub).
    pub token_request_headers: BTreeMap<String, String>,
    pub refresh_supported: bool,
    /// The provider's issuer identifier (RFC 8414). A callback that carries `iss` must name exactly this
    /// (RFC 9207: the defence against mix-up attacks between providers).
    pub issuer: Option<String>,
    /// The provider always sends `iss` on its callback (RFC 9207), so a callback without it is refused.
    pub authorization_response_iss: bool,
    pub token_response: TokenResponseMap,
    /// When `None`, the integration's configured OAuth app supplies the client credentials.
    pub client_credentials: Option<ClientCredentialFields>,
}

impl OAuth2Config {
    /// The scopes joined with this provider's separator.
    pub fn scope_param(&self, scopes: &[String]) -> String {
        scopes.join(&self.scope_separator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_pointers() {
        assert!(JsonPointer::parse("").is_some());
        assert!(JsonPointer::parse("/authed_user/access_token").is_some());
        assert!(JsonPointer::parse("/a~1b/c~0").is_some());
        assert!(JsonPointer::parse("access_token").is_none());
        assert!(JsonPointer::parse("/a~2").is_none());
        assert!(JsonPointer::parse("/a~").is_none());
    }

    #[test]
    fn default_token_response_uses_rfc6749_names() {
        let map = TokenResponseMap::default();
        assert_eq!(map.access_token.as_str(), "/access_token");
        assert_eq!(map.expires_in.as_str(), "/expires_in");
    }

    #[test]
    fn kinds_spell_like_the_files() {
        assert_eq!(
            AuthKind::OAuth2AuthorizationCode.as_str(),
            "oauth2_authorization_code"
        );
        assert!(AuthKind::OAuth2ClientCredentials.is_oauth());
        assert!(!AuthKind::Bearer.is_oauth());
    }
}
