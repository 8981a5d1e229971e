//! Projects: created and renamed by operators (dashboard, CLI); each change recorded in the audit trail.
//! A name is 1–64 characters without control characters, unique across the installation.

use keyway_core::audit::{Actor, AuditEvent};
use keyway_core::id::ProjectId;
use keyway_core::project::Project;
use keyway_core::timestamp::Timestamp;
use keyway_store::error::StoreError;
use keyway_store::Store;

use crate::error::BrokerError;
use crate::Broker;

pub const MAX_NAME_CHARS: usize = 64;

fn valid_name(raw: &str) -> Result<String, BrokerError> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(BrokerError::InvalidField {
            field: "name".into(),
            message: format!("A project name is 1 to {MAX_NAME_CHARS} characters"),
        });
    }
    Ok(name.to_owned())
}

fn name_taken(name: &str) -> BrokerError {
    BrokerError::InvalidField {
        field: "name".into(),
        message: format!("A project named {name:?} exists already"),
    }
}

/// Creates a project; a taken name is an `InvalidField` on `name`.
pub async fn create_project(
    store: &Store,
    name: &str,
    actor: &Actor,
) -> Result<Project, BrokerError> {
    let name = valid_name(name)?;
    let project = Project {
        id: ProjectId::generate(),
        name: name.clone(),
        created_at: Timestamp::now(),
    };
    let event = AuditEvent::new(actor, "project.created", Some(project.id.to_string()))
        .in_project(&project.id, None)
        .with("name", name.clone());
    match store.create_project(&project, Some(&event)).await {
        Ok(()) => Ok(project),
        Err(StoreError::Conflict) => Err(name_taken(&name)),
        Err(e) => Err(e.into()),
    }
}

impl Broker {
    pub async fn projects(&self) -> Result<Vec<Project>, BrokerError> {
        Ok(self.store.list_projects().await?)
    }

    pub async fn project(&self, id: &ProjectId) -> Result<Option<Project>, BrokerError> {
        Ok(self.store.project_by_id(id).await?)
    }

    pub async fn create_project(&self, name: &str, actor: &Actor) -> Result<Project, BrokerError> {
        create_project(&self.store, name, actor).await
    }

    pub async fn rename_project(
        &self,
        id: &ProjectId,
        name: &str,
        actor: &Actor,
    ) -> Result<Project, BrokerError> {
        let name = valid_name(name)?;
        let before = self
            .store
            .project_by_id(id)
            .await?
            .ok_or_else(|| BrokerError::ProjectNotFound(id.to_string()))?;
        let event = AuditEvent::new(actor, "project.renamed", Some(id.to_string()))
            .in_project(id, None)
            .with("from", before.name.clone())
            .with("to", name.clone());
        match self.store.rename_project(id, &name, Some(&event)).await {
            Ok(true) => Ok(Project { name, ..before }),
            Ok(false) => Err(BrokerError::ProjectNotFound(id.to_string())),
            Err(StoreError::Conflict) => Err(name_taken(&name)),
            Err(e) => Err(e.into()),
        }
    }
}
