//! Settings per (project, environment). A missing row means every setting is at its default, so a new
//! project needs no row. Authentication reads them in the same statement as the key
//! (`Store::secret_key_with_settings`); these methods serve the settings API and CLI.

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::project::ProjectSettings;
use keyway_core::timestamp::Timestamp;

use sqlx::Row;

use crate::error::StoreError;
use crate::Store;

impl Store {
    /// The environment's settings; the defaults when none were ever changed.
    pub async fn project_settings(
        &self,
        project: &ProjectId,
        environment: Environment,
    ) -> Result<ProjectSettings, StoreError> {
        let row = sqlx::query(
            "SELECT require_action_ids FROM project_settings WHERE project_id = $1 AND environment = $2",
        )
        .bind(project.as_str())
        .bind(environment.as_str())
        .fetch_optional(self.pool())
        .await?;
        match row {
            None => Ok(ProjectSettings::default()),
            Some(row) => Ok(ProjectSettings {
                require_action_ids: row.try_get::<i64, _>("require_action_ids")? != 0,
            }),
        }
    }

    /// Stores every setting of the environment at once.
    pub async fn put_project_settings(
        &self,
        project: &ProjectId,
        environment: Environment,
        settings: &ProjectSettings,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO project_settings (project_id, environment, require_action_ids, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_id, environment) DO UPDATE SET \
             require_action_ids = excluded.require_action_ids, updated_at = excluded.updated_at",
        )
        .bind(project.as_str())
        .bind(environment.as_str())
        .bind(i64::from(settings.require_action_ids))
        .bind(at.unix_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
