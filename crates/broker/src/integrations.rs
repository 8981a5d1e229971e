//! Integration settings: which catalog platforms AuthKit shows in a project environment (none by default),
//! and the customer's own OAuth app for a platform (client secret sealed, only a hint kept in clear).

use keyway_catalog::platform::Platform;
use keyway_core::audit::{Actor, AuditEvent};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::timestamp::Timestamp;
use keyway_store::integrations::{IntegrationSettings, OAuthApp};

use crate::error::BrokerError;
use crate::Broker;

pub const CLIENT_SECRET_PURPOSE: &str = "integration.oauth-client-secret";
/// Limits of an OAuth app's settings, in characters (client id and secret once trimmed).
pub const MAX_CLIENT_ID_LEN: usize = 512;
pub const MAX_CLIENT_SECRET_LEN: usize = 4096;
pub const MAX_SCOPE_LEN: usize = 256;

/// A change to one integration's settings; `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct IntegrationChange {
    pub enabled: Option<bool>,
    pub oauth_app: Option<OAuthAppChange>,
}

#[derive(Debug)]
pub enum OAuthAppChange {
    Set {
        client_id: String,
        /// `None` keeps the stored secret (e.g. when only scopes change).
        client_secret: Option<secrecy::SecretString>,
        scopes: Option<Vec<String>>,
    },
    Remove,
}

/// A catalog platform with this environment's settings for it.
#[derive(Debug, Clone)]
pub struct Integration<'a> {
    pub platform: &'a Platform,
    pub settings: Option<IntegrationSettings>,
}

impl Integration<'_> {
    pub fn enabled(&self) -> bool {
        self.settings.as_ref().is_some_and(|s| s.enabled)
    }
}

impl Broker {
    pub fn platform(&self, slug: &str) -> Result<&Platform, BrokerError> {
        self.catalog
            .get(slug)
            .ok_or_else(|| BrokerError::UnknownPlatform(slug.chars().take(64).collect()))
    }

    /// Every catalog platform with its settings, in catalog order.
    pub async fn integrations(
        &self,
        project: &ProjectId,
        env: Environment,
    ) -> Result<Vec<Integration<'_>>, BrokerError> {
        let mut settings = self.store.integrations(project, env).await?;
        Ok(self
            .catalog
            .iter()
            .map(|platform| {
                let found = settings
                    .iter()
                    .position(|s| s.platform == platform.slug().as_str());
                Integration {
                    platform,
                    settings: found.map(|i| settings.swap_remove(i)),
                }
            })
            .collect())
    }

    /// One platform's settings in this environment (none when never changed).
    pub async fn integration_settings(
        &self,
        project: &ProjectId,
        env: Environment,
        slug: &str,
    ) -> Result<Option<IntegrationSettings>, BrokerError> {
        Ok(self.store.integration(project, env, slug).await?)
    }

    /// Only the platforms AuthKit shows in this environment.
    pub async fn enabled_integrations(
        &self,
        project: &ProjectId,
        env: Environment,
    ) -> Result<Vec<Integration<'_>>, BrokerError> {
        Ok(self
            .integrations(project, env)
            .await?
            .into_iter()
            .filter(Integration::enabled)
            .collect())
    }

    pub async fn change_integration(
        &self,
        project: &ProjectId,
        env: Environment,
        slug: &str,
        change: IntegrationChange,
        actor: &Actor,
    ) -> Result<IntegrationSettings, BrokerError> {
        let platform = self.platform(slug)?;
        let mut event = AuditEvent::new(actor, "integration.updated", Some(slug.to_owned()))
            .in_project(project, Some(env));
        let now = Timestamp::now();
        let mut settings =
            self.store
                .integration(project, env, slug)
                .await?
                .unwrap_or(IntegrationSettings {
                    project_id: project.clone(),
                    environment: env,
                    platform: slug.to_owned(),
                    enabled: false,
                    oauth_app: None,
                    activated_at: None,
                    created_at: now,
                    updated_at: now,
                });
        settings.updated_at = now;
        if let Some(enabled) = change.enabled {
            if enabled && !settings.enabled {
                settings.activated_at = Some(now);
            }
            settings.enabled = enabled;
            event = event.with("enabled", enabled.to_string());
            if change.oauth_app.is_none() {
                event.action = if enabled {
                    "integration.enabled"
                } else {
                    "integration.disabled"
                }
                .into();
            }
        }
        let mut sealed = None;
        match change.oauth_app {
            None => {}
            Some(OAuthAppChange::Remove) => {
                settings.oauth_app = None;
                event = event.with("oauthApp", "removed");
                if change.enabled.is_none() {
                    event.action = "integration.oauth_app_removed".into();
                }
            }
            Some(OAuthAppChange::Set {
                client_id,
                client_secret,
                scopes,
            }) => {
                if !platform.is_oauth() {
                    return Err(BrokerError::NotOAuth(platform.name().to_owned()));
                }
                let client_id = client_id.trim().to_owned();
                if client_id.is_empty() || client_id.chars().count() > MAX_CLIENT_ID_LEN {
                    return Err(BrokerError::InvalidField {
                        field: "clientId".into(),
                        message: format!("clientId must be 1 to {MAX_CLIENT_ID_LEN} characters"),
                    });
                }
                if let Some(scopes) = &scopes {
                    if let Some(bad) = scopes.iter().find(|s| {
                        s.is_empty()
                            || s.chars().count() > MAX_SCOPE_LEN
                            || s.chars().any(|c| c.is_whitespace() || c.is_control())
                    }) {
                        return Err(BrokerError::InvalidField {
                            field: "scopes".into(),
                            message: format!(
                                "each scope is 1 to {MAX_SCOPE_LEN} characters without spaces (got {:?})",
                                bad.chars().take(40).collect::<String>()
                            ),
                        });
                    }
                }
                let previous = settings.oauth_app.take();
                let secret_id = format!("integration/{}/{}/{}/client-secret", project, env, slug);
                let (client_secret_id, client_secret_hint) = match client_secret {
                    Some(secret) => {
                        use secrecy::ExposeSecret;
                        let value = secret.expose_secret().trim();
                        if value.is_empty() || value.chars().count() > MAX_CLIENT_SECRET_LEN {
                            return Err(BrokerError::InvalidField {
                                field: "clientSecret".into(),
                                message: format!(
                                    "clientSecret must be 1 to {MAX_CLIENT_SECRET_LEN} characters"
                                ),
                            });
                        }
                        sealed = Some(self.sealer.seal(
                            &secret_id,
                            project.as_str(),
                            CLIENT_SECRET_PURPOSE,
                            value.as_bytes(),
                        ));
                        (Some(secret_id), Some(hint(value)))
                    }
                    None => previous
                        .as_ref()
                        .map(|p| (p.client_secret_id.clone(), p.client_secret_hint.clone()))
                        .unwrap_or((None, None)),
                };
                event = event.with("clientId", client_id.clone()).with(
                    "clientSecret",
                    if sealed.is_some() { "replaced" } else { "kept" },
                );
                let scopes = scopes
                    .map(|s| s.join(" "))
                    .or_else(|| previous.and_then(|p| p.scopes));
                if let Some(s) = &scopes {
                    event = event.with("scopes", s.clone());
                }
                if change.enabled.is_none() {
                    event.action = "integration.oauth_app_configured".into();
                }
                settings.oauth_app = Some(OAuthApp {
                    client_id,
                    client_secret_id,
                    client_secret_hint,
                    scopes,
                });
            }
        }
        self.store
            .put_integration(&settings, sealed.as_ref(), Some(&event))
            .await?;
        Ok(settings)
    }
}

/// `••••••••` plus the last four characters (none when the secret is short).
fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        "••••••••".into()
    } else {
        format!(
            "••••••••{}",
            chars[chars.len() - 4..].iter().collect::<String>()
        )
    }
}
