//! Token requests as the catalog describes them: grant, client authentication (Basic header or body),
//! encoding (form or JSON), extra parameters and headers, and where the fields sit in the reply.
//! Failures are classified: `Rejected` (the grant is dead: 400/401, `invalid_grant`, an `error` field)
//! versus `Unavailable` (timeouts, 5xx, garbage: worth retrying).

use std::collections::BTreeMap;

use keyway_catalog::auth::{ClientAuth, OAuth2Config, TokenEncoding};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::oauth::client::OAuthClient;

pub enum Grant<'a> {
    AuthorizationCode {
        code: &'a str,
        redirect_uri: &'a str,
        verifier: Option<&'a str>,
    },
    Refresh {
        refresh_token: &'a str,
    },
    ClientCredentials,
}

/// What a token endpoint issued. Redacted `Debug`.
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The provider refused the grant; retrying will not help.
    Rejected { status: u16, error: String },
    /// The provider could not answer properly; retry later.
    Unavailable(String),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Rejected { status, error } => {
                write!(f, "token request refused (HTTP {status}, {error})")
            }
            TokenError::Unavailable(why) => write!(f, "token endpoint unavailable ({why})"),
        }
    }
}

pub async fn request_token(
    http: &reqwest::Client,
    config: &OAuth2Config,
    client: &OAuthClient,
    grant: Grant<'_>,
) -> Result<TokenSet, TokenError> {
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    let url = match &grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            verifier,
        } => {
            params.insert("grant_type".into(), "authorization_code".into());
            params.insert("code".into(), (*code).to_owned());
            params.insert("redirect_uri".into(), (*redirect_uri).to_owned());
            if let Some(v) = verifier {
                params.insert("code_verifier".into(), (*v).to_owned());
            }
            &config.token_url
        }
        Grant::Refresh { refresh_token } => {
            params.insert("grant_type".into(), "refresh_token".into());
            params.insert("refresh_token".into(), (*refresh_token).to_owned());
            &config.refresh_url
        }
        Grant::ClientCredentials => {
            params.insert("grant_type".into(), "client_credentials".into());
            if !client.scopes.is_empty() {
                params.insert("scope".into(), config.scope_param(&client.scopes));
            }
            &config.token_url
        }
    };
    for (k, v) in &config.extra_token_params {
        params.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let mut request = http.post(url.clone()).header("accept", "application/json");
    match config.client_auth {
        ClientAuth::Basic => {
            request = request.basic_auth(
                &client.client_id,
                Some(client.client_secret.expose_secret()),
            );
        }
        ClientAuth::Body => {
            params.insert("client_id".into(), client.client_id.clone());
            params.insert(
                "client_secret".into(),
                client.client_secret.expose_secret().to_owned(),
            );
        }
    }
    for (k, v) in &config.token_request_headers {
        request = request.header(k.as_str(), v.as_str());
    }
    request = match config.token_request_encoding {
        TokenEncoding::Form => request.form(&params),
        TokenEncoding::Json => request.json(&params),
    };
    let response = request.send().await.map_err(|e| {
        TokenError::Unavailable(if e.is_timeout() {
            "timed out".into()
        } else {
            "connection failed".into()
        })
    })?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|_| TokenError::Unavailable("reply body cut short".into()))?;
    let json = parse_body(&body);
    let error_field = json.as_ref().and_then(|j| j.get("error")).and_then(|e| {
        e.as_str()
            .map(str::to_owned)
            .or_else(|| Some(e.to_string()))
    });
    if status >= 500 || status == 429 {
        return Err(TokenError::Unavailable(format!("HTTP {status}")));
    }
    if !(200..300).contains(&status) || error_field.is_some() {
        // 400/401 (and an `error` in a 2xx, as GitHub does) mean the grant or client is refused.
        return Err(TokenError::Rejected {
            status,
            error: error_field.unwrap_or_else(|| "no error code".into()),
        });
    }
    let json = json.ok_or_else(|| TokenError::Unavailable("reply is not JSON".into()))?;
    let map = &config.token_response;
    let text = |ptr: &keyway_catalog::auth::JsonPointer| {
        json.pointer(ptr.as_str()).and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let access_token = text(&map.access_token)
        .ok_or_else(|| TokenError::Unavailable("reply has no access token".into()))?;
    Ok(TokenSet {
        access_token,
        refresh_token: text(&map.refresh_token),
        expires_in: text(&map.expires_in)
            .and_then(|s| s.parse::<f64>().ok())
            .map(|s| s as i64)
            .filter(|s| *s > 0),
        scope: text(&map.scope),
    })
}

/// JSON, or a form-encoded body (some providers ignore `Accept`) read as a flat JSON object.
fn parse_body(body: &[u8]) -> Option<Value> {
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        return json.is_object().then_some(json);
    }
    let text = std::str::from_utf8(body).ok()?;
    if !text.contains('=') {
        return None;
    }
    let map: serde_json::Map<String, Value> = url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    Some(Value::Object(map))
}
