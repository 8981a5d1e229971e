//! The OAuth client (the customer's app) used for a platform in a project environment.

use keyway_catalog::platform::Platform;
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use secrecy::{ExposeSecret, SecretString};

use crate::error::BrokerError;
use crate::Broker;

pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: SecretString,
    /// The scopes to request: the project's override, else the platform's defaults.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Broker {
    pub async fn oauth_client(
        &self,
        project: &ProjectId,
        env: Environment,
        platform: &Platform,
    ) -> Result<OAuthClient, BrokerError> {
        let missing = || BrokerError::OAuthAppMissing(platform.name().to_owned());
        let oauth2 = platform
            .oauth2()
            .ok_or_else(|| BrokerError::NotOAuth(platform.name().to_owned()))?;
        let settings = self
            .store
            .integration(project, env, platform.slug().as_str())
            .await?;
        let app = settings.and_then(|s| s.oauth_app).ok_or_else(missing)?;
        let secret_id = app.client_secret_id.as_deref().ok_or_else(missing)?;
        let row = self.store.sealed(secret_id).await?.ok_or_else(missing)?;
        let secret = self.sealer.open(&row)?;
        let secret = String::from_utf8(secret.expose_secret().to_vec()).map_err(|_| missing())?;
        let scopes = match &app.scopes {
            Some(s) => s.split_whitespace().map(str::to_owned).collect(),
            None => oauth2.default_scopes.clone(),
        };
        Ok(OAuthClient {
            client_id: app.client_id,
            client_secret: SecretString::from(secret),
            scopes,
        })
    }
}
