//! The raw shape of a platform file, exactly as TOML spells it.
//! Invariant: unknown keys are rejected (`deny_unknown_fields`) so typos surface; values are
//! still unchecked strings here and only `check` turns them into a `Platform`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::auth::{AuthKind, ClientAuth, TokenEncoding};
use crate::platform::Status;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlatformFile {
    pub slug: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub logo: String,
    pub docs_url: String,
    pub base_url: String,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub tags: Vec<String>,
    pub auth: AuthFile,
    #[serde(default)]
    pub fields: Vec<FieldFile>,
    pub inject: Option<InjectFile>,
    pub test_request: Option<TestRequestFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthFile {
    pub kind: AuthKind,
    pub oauth2: Option<OAuth2File>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuth2File {
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub refresh_url: Option<String>,
    #[serde(default)]
    pub default_scopes: Vec<String>,
    pub scope_separator: Option<String>,
    #[serde(default)]
    pub pkce: bool,
    #[serde(default)]
    pub client_auth: ClientAuth,
    #[serde(default)]
    pub token_request_encoding: TokenEncoding,
    #[serde(default)]
    pub extra_authorize_params: BTreeMap<String, String>,
    #[serde(default)]
    pub extra_token_params: BTreeMap<String, String>,
    #[serde(default)]
    pub token_request_headers: BTreeMap<String, String>,
    pub refresh_supported: Option<bool>,
    pub issuer: Option<String>,
    #[serde(default)]
    pub authorization_response_iss: bool,
    pub token_response: Option<TokenResponseFile>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenResponseFile {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<String>,
    pub scope: Option<String>,
    pub token_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldFile {
    pub name: String,
    pub label: String,
    pub placeholder: Option<String>,
    #[serde(default = "yes")]
    pub secret: bool,
    #[serde(default = "yes")]
    pub required: bool,
    pub pattern: Option<String>,
    pub help: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InjectFile {
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    pub basic: Option<BasicFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BasicFile {
    pub username: String,
    #[serde(default)]
    pub password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestRequestFile {
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default = "ok_status")]
    pub expect_status: Vec<u16>,
    pub body: Option<String>,
}

fn yes() -> bool {
    true
}

fn get() -> String {
    "GET".to_owned()
}

fn ok_status() -> Vec<u16> {
    vec![200]
}
