//! Project settings per environment (today: whether passthrough requires an action id). Requests read
//! them from their verified secret key (`keys::SecretKeys`), never from the database, so a change clears
//! the project's verified keys on this node at once and, on Postgres, on every other node by notification.

use keyway_core::audit::{Actor, AuditEvent};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::project::{Branding, ProjectSettings};
use keyway_core::timestamp::Timestamp;

use crate::error::BrokerError;
use crate::Broker;

/// A change to an environment's settings; `None` leaves a setting as it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct SettingsChange {
    pub require_action_ids: Option<bool>,
}

impl Broker {
    /// The environment's settings as stored (the defaults when never changed).
    pub async fn settings(
        &self,
        project: &ProjectId,
        env: Environment,
    ) -> Result<ProjectSettings, BrokerError> {
        Ok(self.store.project_settings(project, env).await?)
    }

    /// Applies `change` and returns the settings now in force.
    pub async fn change_settings(
        &self,
        project: &ProjectId,
        env: Environment,
        change: SettingsChange,
        actor: &Actor,
    ) -> Result<ProjectSettings, BrokerError> {
        let mut settings = self.store.project_settings(project, env).await?;
        let mut event =
            AuditEvent::new(actor, "settings.updated", None).in_project(project, Some(env));
        if let Some(required) = change.require_action_ids {
            settings.require_action_ids = required;
            event = event.with("requireActionIds", required.to_string());
        }
        self.store
            .put_project_settings(project, env, &settings, Timestamp::now(), Some(&event))
            .await?;
        self.keys.settings_changed(project).await;
        Ok(settings)
    }
}

/// Longest company name the modal shows.
pub const MAX_COMPANY_NAME_CHARS: usize = 80;

impl Broker {
    pub async fn branding(
        &self,
        project: &ProjectId,
        env: Environment,
    ) -> Result<Branding, BrokerError> {
        Ok(self.store.project_branding(project, env).await?)
    }

    /// Replaces the modal's branding defaults: a company name (at most 80 characters), a logo URL
    /// (http or https, at most 2,048 characters) and a theme (`light` or `dark`); empty means none.
    pub async fn change_branding(
        &self,
        project: &ProjectId,
        env: Environment,
        branding: Branding,
        actor: &Actor,
    ) -> Result<Branding, BrokerError> {
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let branding = Branding {
            company_name: clean(branding.company_name),
            logo_url: clean(branding.logo_url),
            theme: clean(branding.theme),
        };
        let field = |field: &str, message: &str| BrokerError::InvalidField {
            field: field.into(),
            message: message.into(),
        };
        if let Some(name) = &branding.company_name {
            if name.chars().count() > MAX_COMPANY_NAME_CHARS || name.chars().any(char::is_control) {
                return Err(field(
                    "companyName",
                    "A company name is at most 80 characters",
                ));
            }
        }
        if let Some(logo) = &branding.logo_url {
            let ok = logo.len() <= 2048
                && url::Url::parse(logo)
                    .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
            if !ok {
                return Err(field(
                    "logoUrl",
                    "The logo must be an https:// (or http://) URL",
                ));
            }
        }
        if let Some(theme) = &branding.theme {
            if theme != "light" && theme != "dark" {
                return Err(field("theme", "The theme is light or dark"));
            }
        }
        let mut event =
            AuditEvent::new(actor, "branding.updated", None).in_project(project, Some(env));
        for (key, value) in [
            ("companyName", &branding.company_name),
            ("logoUrl", &branding.logo_url),
            ("theme", &branding.theme),
        ] {
            event = event.with(key, value.clone().unwrap_or_default());
        }
        self.store
            .put_project_branding(project, env, &branding, Timestamp::now(), Some(&event))
            .await?;
        Ok(branding)
    }
}
