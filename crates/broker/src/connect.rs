//! Creating connections from credentials a person typed (AuthKit session) or a developer imported (secret
//! key): fields checked against the platform's form, the platform's test request run, secrets sealed, and
//! the connection stored for its identity with its sealed credentials in one transaction.

use std::collections::BTreeMap;

use keyway_catalog::platform::Platform;
use keyway_core::connection::{Connection, ConnectionKey, ConnectionState};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::timestamp::Timestamp;
use keyway_crypto::random;
use secrecy::{ExposeSecret, SecretString};

use crate::connections::{credentials_id, validate_tags, CREDENTIALS_PURPOSE};
use crate::error::BrokerError;
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
    /// An end user in the connect modal: only enabled, non-OAuth integrations.
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

/// Form fields an OAuth import may carry besides the platform's own.
const ACCESS_TOKEN: &str = "accessToken";
const REFRESH_TOKEN: &str = "refreshToken";
const EXPIRES_IN: &str = "expiresIn";

impl Broker {
    pub async fn connect_with_form(
        &self,
        owner: &Owner,
        request: ConnectRequest,
        channel: Channel,
    ) -> Result<Connection, BrokerError> {
        let platform = self.platform(&request.platform)?;
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
            if platform.is_oauth() {
                return Err(BrokerError::OAuthRequired(platform.name().to_owned()));
            }
        }
        let name = match request
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
        {
            Some(n) if n.chars().count() > 128 => {
                return Err(BrokerError::InvalidInput(
                    "name must be at most 128 characters".into(),
                ))
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
        let oauth = if platform.is_oauth() {
            Some(take_oauth_tokens(&mut values)?)
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
        let base_url = platform
            .base_url_for(&public)
            .map_err(|e| BrokerError::InvalidForm(vec![("form".into(), e.to_string())]))?;

        let mut vars: BTreeMap<String, String> = public.clone();
        vars.extend(secret.clone());
        let mut sealed_values = secret;
        let mut expires_at = None;
        if let Some(tokens) = &oauth {
            vars.insert(ACCESS_TOKEN.into(), tokens.access_token.clone());
            sealed_values.insert(ACCESS_TOKEN.into(), tokens.access_token.clone());
            if let Some(refresh) = &tokens.refresh_token {
                sealed_values.insert(REFRESH_TOKEN.into(), refresh.clone());
            }
            expires_at = tokens.expires_in.map(|s| Timestamp::now().plus_seconds(s));
        }
        upstream::verify_credentials(&self.http, platform, &base_url, &vars).await?;
        self.store_connection(
            owner,
            platform,
            public,
            sealed_values,
            name,
            tags,
            expires_at,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn store_connection(
        &self,
        owner: &Owner,
        platform: &Platform,
        public: BTreeMap<String, String>,
        secret: BTreeMap<String, String>,
        name: Option<String>,
        tags: Vec<String>,
        oauth_expires_at: Option<Timestamp>,
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
            oauth_scopes: None,
            created_at: now,
            updated_at: now,
        };
        let plaintext = zeroize::Zeroizing::new(
            serde_json::to_vec(&secret).map_err(|e| BrokerError::InvalidInput(e.to_string()))?,
        );
        drop(secret);
        let cid = credentials_id(&connection.id);
        let sealed = self.sealer.seal(
            &cid,
            owner.project_id.as_str(),
            CREDENTIALS_PURPOSE,
            &plaintext,
        );
        self.store.insert_connection(&connection, &sealed).await?;
        Ok(connection)
    }
}

struct OAuthTokens {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
}

fn take_oauth_tokens(values: &mut BTreeMap<String, String>) -> Result<OAuthTokens, BrokerError> {
    let access_token = values
        .remove(ACCESS_TOKEN)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            BrokerError::InvalidForm(vec![(
                ACCESS_TOKEN.into(),
                format!("`{ACCESS_TOKEN}` is required"),
            )])
        })?;
    let refresh_token = values.remove(REFRESH_TOKEN).filter(|v| !v.is_empty());
    let expires_in = match values.remove(EXPIRES_IN) {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|s| *s > 0).ok_or_else(|| {
            BrokerError::InvalidForm(vec![(
                EXPIRES_IN.into(),
                format!("`{EXPIRES_IN}` must be a positive number of seconds"),
            )])
        })?),
    };
    Ok(OAuthTokens {
        access_token,
        refresh_token,
        expires_in,
    })
}

fn field_of(e: &keyway_catalog::field::FieldValueError) -> String {
    use keyway_catalog::field::FieldValueError as E;
    match e {
        E::Missing { field } | E::PatternMismatch { field } | E::Unknown { field } => field.clone(),
    }
}
