//! Project settings per environment (today: whether passthrough requires an action id). Requests read
//! them from their verified secret key (`keys::SecretKeys`), never from the database, so a change clears
//! the project's verified keys on this node at once and, on Postgres, on every other node by notification.

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::project::ProjectSettings;
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
    ) -> Result<ProjectSettings, BrokerError> {
        let mut settings = self.store.project_settings(project, env).await?;
        if let Some(required) = change.require_action_ids {
            settings.require_action_ids = required;
        }
        self.store
            .put_project_settings(project, env, &settings, Timestamp::now())
            .await?;
        self.keys.settings_changed(project).await;
        Ok(settings)
    }
}
