//! Authorization-code flow. `start` records a single-use state (stored as a keyed hash) bound to the
//! AuthKit session, its identity and the platform, and builds the provider's URL with a PKCE S256
//! challenge. The verifier is never stored: it is an HMAC of the state under the server pepper, so only
//! this server can produce it when the state comes back. `finish` takes the state (once), exchanges the
//! code the way the catalog says, seals the tokens and creates the connection.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keyway_catalog::auth::AuthKind;
use keyway_core::connection::Connection;
use keyway_core::timestamp::Timestamp;
use keyway_crypto::random;
use keyway_store::authkit_sessions::AuthkitSession;
use keyway_store::oauth::OAuthState;
use sha2::{Digest, Sha256};

use crate::connect::Owner;
use crate::credentials::{Credentials, ACCESS_TOKEN, REFRESH_TOKEN};
use crate::error::BrokerError;
use crate::oauth::token::{request_token, Grant, TokenError};
use crate::Broker;

const STATE_HASH_DOMAIN: &str = "oauth-state";
const VERIFIER_DOMAIN: &str = "oauth-pkce-verifier";
/// The attempt id the modal polls with is derived from the state (it reveals nothing of it), and stored
/// only as a keyed hash of itself.
const ATTEMPT_DOMAIN: &str = "oauth-attempt";
const ATTEMPT_KEY_DOMAIN: &str = "oauth-attempt-key";
/// How long a user has to approve at the provider.
pub const STATE_SECONDS: i64 = 15 * 60;

/// How the provider answered on the callback.
#[derive(Debug)]
pub enum CallbackOutcome<'a> {
    Code(&'a str),
    Error {
        error: &'a str,
        description: Option<&'a str>,
    },
}

/// A started attempt: where to send the user, and the id its outcome can be asked for by.
#[derive(Debug)]
pub struct OAuthStarted {
    pub authorize_url: String,
    pub attempt_id: String,
}

/// How a callback ended and, when its state was valid, for which attempt (to record the outcome for the
/// session that started it).
#[derive(Debug)]
pub struct OAuthFinished {
    pub attempt: Option<AttemptReceipt>,
    pub outcome: Result<Connection, BrokerError>,
}

#[derive(Debug)]
pub struct AttemptReceipt {
    attempt_key: String,
    session_id: String,
}

impl Broker {
    /// The provider URL to send the user to. `fields` are non-secret connection fields (e.g. a subdomain).
    pub async fn start_oauth(
        &self,
        session: &AuthkitSession,
        platform_slug: &str,
        fields: BTreeMap<String, String>,
        redirect_uri: &str,
    ) -> Result<OAuthStarted, BrokerError> {
        let platform = self.platform(platform_slug)?;
        let enabled = self
            .store
            .integration(&session.project_id, session.environment, platform_slug)
            .await?
            .is_some_and(|s| s.enabled);
        if !enabled {
            return Err(BrokerError::IntegrationDisabled(platform.name().to_owned()));
        }
        if platform.auth_kind() != AuthKind::OAuth2AuthorizationCode {
            return Err(BrokerError::NotOAuth(platform.name().to_owned()));
        }
        let oauth2 = platform
            .oauth2()
            .ok_or_else(|| BrokerError::NotOAuth(platform.name().to_owned()))?;
        let authorize = oauth2
            .authorize_url
            .as_ref()
            .ok_or_else(|| BrokerError::NotOAuth(platform.name().to_owned()))?;
        platform.check_field_values(&fields).map_err(|errors| {
            BrokerError::InvalidForm(
                errors
                    .into_iter()
                    .map(|e| ("form".to_owned(), e.to_string()))
                    .collect(),
            )
        })?;
        if let Some(secret) = fields
            .keys()
            .find(|k| platform.field(k).is_some_and(|f| f.secret))
        {
            return Err(BrokerError::InvalidForm(vec![(
                secret.clone(),
                "secret fields are not sent before OAuth".into(),
            )]));
        }
        let client = self
            .oauth_client(&session.project_id, session.environment, platform)
            .await?;

        let state = URL_SAFE_NO_PAD.encode(random::bytes::<32>());
        let now = Timestamp::now();
        let record = OAuthState {
            session_id: session.id.clone(),
            project_id: session.project_id.clone(),
            environment: session.environment,
            identity: session.identity.clone(),
            identity_type: session.identity_type,
            platform: platform_slug.to_owned(),
            fields,
            created_at: now,
            expires_at: now.plus_seconds(STATE_SECONDS),
        };
        self.store
            .insert_oauth_state(
                &self.hasher.hash(STATE_HASH_DOMAIN, state.as_bytes()),
                &record,
            )
            .await?;

        let mut url = authorize.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", &client.client_id);
            q.append_pair("redirect_uri", redirect_uri);
            if !client.scopes.is_empty() {
                q.append_pair("scope", &oauth2.scope_param(&client.scopes));
            }
            q.append_pair("state", &state);
            if oauth2.pkce {
                let challenge =
                    URL_SAFE_NO_PAD.encode(Sha256::digest(self.pkce_verifier(&state).as_bytes()));
                q.append_pair("code_challenge", &challenge);
                q.append_pair("code_challenge_method", "S256");
            }
            for (k, v) in &oauth2.extra_authorize_params {
                q.append_pair(k, v);
            }
        }
        Ok(OAuthStarted {
            authorize_url: url.to_string(),
            attempt_id: self.attempt_id(&state),
        })
    }

    /// Records what the callback page reported (`result`: its JSON) for the session that started the
    /// attempt, so a modal the page could not reach can still learn it.
    pub async fn record_oauth_result(
        &self,
        attempt: &AttemptReceipt,
        result: &str,
    ) -> Result<(), BrokerError> {
        let now = Timestamp::now();
        self.store
            .put_oauth_result(
                &attempt.attempt_key,
                &attempt.session_id,
                result,
                now,
                now.plus_seconds(STATE_SECONDS),
            )
            .await?;
        Ok(())
    }

    /// The recorded outcome of the session's attempt, once it has ended.
    pub async fn oauth_result(
        &self,
        session: &AuthkitSession,
        attempt_id: &str,
    ) -> Result<Option<String>, BrokerError> {
        Ok(self
            .store
            .oauth_result(&self.attempt_key(attempt_id), &session.id, Timestamp::now())
            .await?)
    }

    /// Completes an authorization from the provider's callback. The platform is the one recorded with the
    /// state, never one named by the request. `issuer` is the callback's `iss` (RFC 9207), when sent.
    pub async fn finish_oauth(
        &self,
        state: &str,
        issuer: Option<&str>,
        outcome: CallbackOutcome<'_>,
        redirect_uri: &str,
    ) -> OAuthFinished {
        let taken = self
            .store
            .take_oauth_state(
                &self.hasher.hash(STATE_HASH_DOMAIN, state.as_bytes()),
                Timestamp::now(),
            )
            .await;
        let record = match taken
            .map_err(BrokerError::from)
            .and_then(|r| r.ok_or(BrokerError::OAuthStateInvalid))
        {
            Ok(record) => record,
            Err(e) => {
                return OAuthFinished {
                    attempt: None,
                    outcome: Err(e),
                }
            }
        };
        let attempt = AttemptReceipt {
            attempt_key: self.attempt_key(&self.attempt_id(state)),
            session_id: record.session_id.clone(),
        };
        OAuthFinished {
            attempt: Some(attempt),
            outcome: self
                .complete_oauth(record, state, issuer, outcome, redirect_uri)
                .await,
        }
    }

    /// The rest of a callback, once its state was found valid and spent.
    async fn complete_oauth(
        &self,
        record: OAuthState,
        state: &str,
        issuer: Option<&str>,
        outcome: CallbackOutcome<'_>,
        redirect_uri: &str,
    ) -> Result<Connection, BrokerError> {
        let platform = self.platform(&record.platform)?;
        // Mix-up defence (RFC 9207), before anything else is believed, errors included: an answer that
        // names another issuer than this platform's — or none, from a provider that always names it — is
        // refused, and the code it carries is never sent anywhere. The state is spent either way.
        if let Some(oauth2) = platform.oauth2() {
            let mismatch = match (oauth2.issuer.as_deref(), issuer) {
                (Some(expected), Some(got)) => got != expected,
                (Some(_), None) => oauth2.authorization_response_iss,
                (None, _) => false,
            };
            if mismatch {
                return Err(BrokerError::OAuthIssuerMismatch {
                    platform: platform.name().to_owned(),
                });
            }
        }
        let code = match outcome {
            CallbackOutcome::Code(code) => code,
            CallbackOutcome::Error { error, description } => {
                return Err(BrokerError::OAuthDenied {
                    platform: platform.name().to_owned(),
                    reason: match description {
                        Some(d) => format!("{error}: {}", d.chars().take(200).collect::<String>()),
                        None => error.chars().take(64).collect(),
                    },
                })
            }
        };
        let oauth2 = platform
            .oauth2()
            .ok_or_else(|| BrokerError::NotOAuth(platform.name().to_owned()))?;
        let client = self
            .oauth_client(&record.project_id, record.environment, platform)
            .await?;
        let verifier = oauth2.pkce.then(|| self.pkce_verifier(state));
        let grant = Grant::AuthorizationCode {
            code,
            redirect_uri,
            verifier: verifier.as_deref(),
        };
        let tokens = request_token(&self.http, oauth2, &client, grant).await.map_err(|e| {
            tracing::warn!(platform = %record.platform, error = %e, "authorization code exchange failed");
            BrokerError::OAuthExchangeFailed {
                platform: platform.name().to_owned(),
                reason: match e {
                    TokenError::Rejected { error, .. } => format!("the code was refused ({error})"),
                    TokenError::Unavailable(why) => why,
                },
            }
        })?;
        let mut credentials = Credentials::default();
        credentials.set(ACCESS_TOKEN, tokens.access_token.clone());
        if let Some(refresh) = &tokens.refresh_token {
            credentials.set(REFRESH_TOKEN, refresh.clone());
        }
        let owner = Owner {
            project_id: record.project_id,
            environment: record.environment,
            identity: record.identity,
            identity_type: record.identity_type,
        };
        let expires_at = tokens.expires_in.map(|s| Timestamp::now().plus_seconds(s));
        let scopes = tokens
            .scope
            .clone()
            .or_else(|| Some(client.scopes.join(" ")).filter(|s| !s.is_empty()));
        self.store_new_connection(
            &owner,
            platform,
            record.fields,
            credentials,
            None,
            Vec::new(),
            expires_at,
            scopes,
        )
        .await
    }

    fn attempt_id(&self, state: &str) -> String {
        self.hasher.hash(ATTEMPT_DOMAIN, state.as_bytes())
    }

    fn attempt_key(&self, attempt_id: &str) -> String {
        self.hasher.hash(ATTEMPT_KEY_DOMAIN, attempt_id.as_bytes())
    }

    fn pkce_verifier(&self, state: &str) -> String {
        self.hasher.hash(VERIFIER_DOMAIN, state.as_bytes())
    }
}
