//! Projects. The first start creates the default project and its keys in one transaction, so two nodes
//! starting on an empty Postgres at once create it exactly once.

use keyway_core::audit::AuditEvent;
use keyway_core::id::ProjectId;
use keyway_core::project::Project;
use keyway_core::timestamp::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::insert_audit;
use crate::error::StoreError;
use crate::secret_keys::{insert_key, NewSecretKey};
use crate::Store;

const COLUMNS: &str = "id, name, created_at";

impl Store {
    /// Creates `project` and `keys` unless a project with that name exists. True when this call created it.
    pub async fn bootstrap_project(
        &self,
        project: &Project,
        keys: &[NewSecretKey],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(project.id.as_str())
        .bind(&project.name)
        .bind(project.created_at.unix_millis())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            for key in keys {
                insert_key(&mut tx, key).await?;
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn create_project(
        &self,
        project: &Project,
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(project.id.as_str())
            .bind(&project.name)
            .bind(project.created_at.unix_millis())
            .execute(&mut *tx)
            .await?;
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Renames a project. False when it does not exist; `Conflict` when another has that name.
    pub async fn rename_project(
        &self,
        id: &ProjectId,
        name: &str,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("UPDATE projects SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(event) = audit {
            insert_audit(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn project_by_name(&self, name: &str) -> Result<Option<Project>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM projects WHERE name = $1");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    pub async fn project_by_id(&self, id: &ProjectId) -> Result<Option<Project>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM projects WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    pub async fn list_projects(&self) -> Result<Vec<Project>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM projects ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(project_from_row).collect()
    }
}

fn project_from_row(row: &AnyRow) -> Result<Project, StoreError> {
    Ok(Project {
        id: ProjectId::from_trusted(row.try_get("id")?),
        name: row.try_get("name")?,
        created_at: Timestamp::from_unix_millis(row.try_get("created_at")?),
    })
}
