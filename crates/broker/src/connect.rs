//! Creating connections from credentials a person typed (AuthKit session) or a developer imported (secret
//! key): fields checked against the platform's form, client-credentials tokens fetched, the platform's
//! test request run, secrets sealed, and the connection stored with its sealed credentials in one
//! transaction.

use std::collections::BTreeMap;

use keyway_catalog::auth::AuthKind;
use keyway_catalog::platform::Platform;
use keyway_core::connection::{Connection, ConnectionKey, ConnectionState};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::timestamp::Timestamp;
use keyway_crypto::random;
use secrecy::{ExposeSecret, SecretString};

use crate::connections::{credentials_id, validate_tags, CREDENTIALS_PURPOSE};
use crate::credentials::{Credentials, ACCESS_TOKEN, REFRESH_TOKEN};
use crate::error::BrokerError;
use crate::oauth::client::OAuthClient;
use crate::oauth::token::{request_token, Grant, TokenError};
use crate::upstream;
use crate::Broker;

/// Whose the new connection is.
#[derive(Debug, Clone)]
pub struct Owner {
    pub project_id: ProjectId,
    pub environment: Environment,
    pub identity: Identity,
    pub identity_type: IdentityType,
}

/// How the credentials arrived; decides what is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An end user in the connect modal: only enabled integrations, and no authorization-code OAuth
    /// (that goes through the OAuth flow).
    Authkit,
    /// The developer's backend importing credentials it already holds: any platform, OAuth tokens included.
    Import,
}

/// Submitted form values. Redacted `Debug`: values may be secrets.
pub struct FormData(pub BTreeMap<String, SecretString>);

impl std::fmt::Debug for FormData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

#[derive(Debug)]
pub struct ConnectRequest {
    pub platform: String,
    pub form: FormData,
    pub name: Option<String>,
    pub tags: Vec<String>,
}

/// A connection's name, once trimmed (a blank name is no name).
pub const MAX_NAME_LEN: usize = 128;

/// Besides its own fields, an authorization-code import may carry these.
const EXPIRES_IN: &str = "expiresIn";

impl Broker {
    pub async fn connect_with_form(
        &self,
        owner: &Owner,
        request: ConnectRequest,
        channel: Channel,
    ) -> Result<Connection, BrokerError> {
        let platform = self.platform(&request.platform)?;
        let kind = platform.auth_kind();
        if channel == Channel::Authkit {
            let enabled = self
                .store
                .integration(
                    &owner.project_id,
                    owner.environment,
                    platform.slug().as_str(),
                )
                .await?
                .is_some_and(|s| s.enabled);
            if !enabled {
                return Err(BrokerError::IntegrationDisabled(platform.name().to_owned()));
            }
            if kind == AuthKind::OAuth2AuthorizationCode {
                return Err(BrokerError::OAuthRequired(platform.name().to_owned()));
            }
        }
        let name = match request
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
        {
            Some(n) if n.chars().count() > MAX_NAME_LEN => {
                return Err(BrokerError::InvalidInput(format!(
                    "name must be at most {MAX_NAME_LEN} characters"
                )))
            }
            other => other,
        };
        let tags = validate_tags(request.tags)?;

        let mut values: BTreeMap<String, String> = request
            .form
            .0
            .iter()
            .map(|(k, v)| (k.clone(), v.expose_secret().trim().to_owned()))
            .collect();
        let imported = if kind == AuthKind::OAuth2AuthorizationCode {
            Some(take_imported_tokens(&mut values)?)
        } else {
            None
        };
        platform.check_field_values(&values).map_err(|errors| {
            BrokerError::InvalidForm(
                errors
                    .into_iter()
                    .map(|e| (field_of(&e), e.to_string()))
                    .collect(),
            )
        })?;
        let (public, secret): (BTreeMap<_, _>, BTreeMap<_, _>) = values
            .into_iter()
            .partition(|(name, _)| platform.field(name).is_some_and(|f| !f.secret));
        // Field values that cannot form the platform's URL are a form error, test request or not.
        platform
            .base_url_for(&public)
            .map_err(|e| BrokerError::InvalidForm(vec![("form".into(), e.to_string())]))?;

        let mut credentials = Credentials::new(secret);
        let mut expires_at = None;
        let mut scopes = None;
        if let Some((access, refresh, expires_in)) = imported {
            credentials.set(ACCESS_TOKEN, access);
            if let Some(refresh) = refresh {
                credentials.set(REFRESH_TOKEN, refresh);
            }
            expires_at = expires_in.map(|s| Timestamp::now().plus_seconds(s));
        }
        if kind == AuthKind::OAuth2ClientCredentials {
            let client = self
                .client_credentials_client(owner, platform, &public, &credentials)
                .await?;
            let oauth2 = platform
                .oauth2()
                .ok_or_else(|| BrokerError::NotOAuth(platform.name().to_owned()))?;
            let tokens = request_token(&self.http, oauth2, &client, Grant::ClientCredentials)
                .await
                .map_err(|e| match e {
                    TokenError::Rejected { status, .. } => BrokerError::CredentialsRejected {
                        platform: platform.name().to_owned(),
                        status,
                    },
                    TokenError::Unavailable(_) => BrokerError::PlatformUnreachable {
                        platform: platform.name().to_owned(),
                    },
                })?;
            credentials.set(ACCESS_TOKEN, tokens.access_token);
            expires_at = tokens.expires_in.map(|s| Timestamp::now().plus_seconds(s));
            scopes = tokens.scope;
        }

        upstream::verify_credentials(&self.http, platform, &public, &credentials).await?;
        self.store_new_connection(
            owner,
            platform,
            public,
            credentials,
            name,
            tags,
            expires_at,
            scopes,
        )
        .await
    }

    /// The client a client-credentials platform authenticates with: templates over the connection's
    /// own fields when the catalog declares them, else the integration's configured OAuth app.
    pub(crate) async fn client_credentials_client(
        &self,
        owner: &Owner,
        platform: &Platform,
        public: &BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> Result<OAuthClient, BrokerError> {
        let oauth2 = platform
            .oauth2()
            .ok_or_else(|| BrokerError::NotOAuth(platform.name().to_owned()))?;
        match &oauth2.client_credentials {
            Some(fields) => {
                let mut vars = public.clone();
                vars.extend(
                    credentials
                        .values()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                let render = |t: &keyway_catalog::template::Template| {
                    t.render(&vars)
                        .map_err(|e| BrokerError::InvalidForm(vec![("form".into(), e.to_string())]))
                };
                let client = OAuthClient {
                    client_id: render(&fields.client_id)?,
                    client_secret: SecretString::from(render(&fields.client_secret)?),
                    scopes: oauth2.default_scopes.clone(),
                };
                for value in vars.values_mut() {
                    zeroize::Zeroize::zeroize(value);
                }
                Ok(client)
            }
            None => {
                self.oauth_client(&owner.project_id, owner.environment, platform)
                    .await
            }
        }
    }

    /// Seals `credentials` and stores the connection with them in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn store_new_connection(
        &self,
        owner: &Owner,
        platform: &Platform,
        public: BTreeMap<String, String>,
        credentials: Credentials,
        name: Option<String>,
        tags: Vec<String>,
        oauth_expires_at: Option<Timestamp>,
        oauth_scopes: Option<String>,
    ) -> Result<Connection, BrokerError> {
        let hex = random::hex::<16>();
        let id = format!("conn_{hex}");
        let now = Timestamp::now();
        let connection = Connection {
            key: ConnectionKey::build(
                owner.environment,
                platform.slug().as_str(),
                &hex,
                &owner.identity,
            ),
            id,
            project_id: owner.project_id.clone(),
            environment: owner.environment,
            platform: platform.slug().as_str().to_owned(),
            platform_version: "v1".into(),
            identity: owner.identity.clone(),
            identity_type: owner.identity_type,
            name,
            tags,
            state: ConnectionState::Operational,
            active: true,
            version: 1,
            fields: public,
            oauth_expires_at,
            // Refreshes are timed from here; a token without an expiry is refreshed when refused.
            oauth_issued_at: oauth_expires_at.map(|_| now),
            oauth_scopes,
            created_at: now,
            updated_at: now,
        };
        let cid = credentials_id(&connection.id);
        let sealed = self.sealer.seal(
            &cid,
            owner.project_id.as_str(),
            CREDENTIALS_PURPOSE,
            &credentials.to_json(),
        );
        self.store.insert_connection(&connection, &sealed).await?;
        Ok(connection)
    }
}

/// `accessToken` (required), `refreshToken`, `expiresIn` (seconds) from an OAuth import.
fn take_imported_tokens(
    values: &mut BTreeMap<String, String>,
) -> Result<(String, Option<String>, Option<i64>), BrokerError> {
    let access = values
        .remove(ACCESS_TOKEN)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            BrokerError::InvalidForm(vec![(
                ACCESS_TOKEN.into(),
                format!("`{ACCESS_TOKEN}` is required"),
            )])
        })?;
    let refresh = values.remove(REFRESH_TOKEN).filter(|v| !v.is_empty());
    let expires_in = match values.remove(EXPIRES_IN) {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|s| *s > 0).ok_or_else(|| {
            BrokerError::InvalidForm(vec![(
                EXPIRES_IN.into(),
                format!("`{EXPIRES_IN}` must be a positive number of seconds"),
            )])
        })?),
    };
    Ok((access, refresh, expires_in))
}

fn field_of(e: &keyway_catalog::field::FieldValueError) -> String {
    use keyway_catalog::field::FieldValueError as E;
    match e {
        E::Missing { field } | E::PatternMismatch { field } | E::Unknown { field } => field.clone(),
    }
}
