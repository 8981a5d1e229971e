//! Settings per (project, environment). A missing row means every setting is at its default, so a new
//! project needs no row. Authentication reads them in the same statement as the key
//! (`Store::secret_key_with_settings`); these methods serve the settings API and CLI.

use keyway_core::audit::AuditEvent;
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::project::{Branding, ProjectSettings};
use keyway_core::timestamp::Timestamp;

use sqlx::Row;

use crate::audit::insert_audit;
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
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
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
        .execute(&mut *tx)
        .await?;
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The modal's branding defaults of an environment (empty when never set).
    pub async fn project_branding(
        &self,
        project: &ProjectId,
        environment: Environment,
    ) -> Result<Branding, StoreError> {
        let row = sqlx::query(
            "SELECT brand_name, brand_logo_url, brand_theme FROM project_settings \
             WHERE project_id = $1 AND environment = $2",
        )
        .bind(project.as_str())
        .bind(environment.as_str())
        .fetch_optional(self.pool())
        .await?;
        match row {
            None => Ok(Branding::default()),
            Some(row) => Ok(Branding {
                company_name: row.try_get("brand_name")?,
                logo_url: row.try_get("brand_logo_url")?,
                theme: row.try_get("brand_theme")?,
            }),
        }
    }

    /// Stores an environment's branding defaults (its other settings keep their values).
    pub async fn put_project_branding(
        &self,
        project: &ProjectId,
        environment: Environment,
        branding: &Branding,
        at: Timestamp,
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO project_settings (project_id, environment, require_action_ids, updated_at, \
             brand_name, brand_logo_url, brand_theme) VALUES ($1, $2, 0, $3, $4, $5, $6) \
             ON CONFLICT (project_id, environment) DO UPDATE SET updated_at = excluded.updated_at, \
             brand_name = excluded.brand_name, brand_logo_url = excluded.brand_logo_url, \
             brand_theme = excluded.brand_theme",
        )
        .bind(project.as_str())
        .bind(environment.as_str())
        .bind(at.unix_millis())
        .bind(branding.company_name.as_deref())
        .bind(branding.logo_url.as_deref())
        .bind(branding.theme.as_deref())
        .execute(&mut *tx)
        .await?;
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
