//! First start: an empty database gets a `default` project with one test and one live key, printed once.

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::project::Project;
use keyway_core::timestamp::Timestamp;
use keyway_store::Store;

use crate::error::BrokerError;
use crate::keys::{MintedKey, SecretKeys};

pub const DEFAULT_PROJECT: &str = "default";

#[derive(Debug)]
pub struct FirstStart {
    pub project: Project,
    pub test_key: MintedKey,
    pub live_key: MintedKey,
}

/// Creates the default project and its keys if no project by that name exists. Safe to race: exactly one
/// caller (one node) creates them and gets `Some`.
pub async fn ensure_default_project(
    store: &Store,
    keys: &SecretKeys,
) -> Result<Option<FirstStart>, BrokerError> {
    if store.project_by_name(DEFAULT_PROJECT).await?.is_some() {
        return Ok(None);
    }
    let project = Project {
        id: ProjectId::generate(),
        name: DEFAULT_PROJECT.into(),
        created_at: Timestamp::now(),
    };
    let (test_key, test_row) = keys.mint(&project.id, Environment::Test, None);
    let (live_key, live_row) = keys.mint(&project.id, Environment::Live, None);
    if store
        .bootstrap_project(&project, &[test_row, live_row])
        .await?
    {
        Ok(Some(FirstStart {
            project,
            test_key,
            live_key,
        }))
    } else {
        Ok(None)
    }
}

/// Resolves a project by name (`None` = the default project).
pub async fn project_named(store: &Store, name: Option<&str>) -> Result<Project, BrokerError> {
    let name = name.unwrap_or(DEFAULT_PROJECT);
    store
        .project_by_name(name)
        .await?
        .ok_or_else(|| BrokerError::ProjectNotFound(name.to_owned()))
}

/// The named project (default: `default`), created (and the creation recorded) if it does not exist yet.
pub async fn ensure_project(
    store: &Store,
    name: Option<&str>,
    actor: &keyway_core::audit::Actor,
) -> Result<Project, BrokerError> {
    let name = name.unwrap_or(DEFAULT_PROJECT);
    if let Some(project) = store.project_by_name(name).await? {
        return Ok(project);
    }
    match crate::projects::create_project(store, name, actor).await {
        Ok(project) => Ok(project),
        // Created concurrently by someone else: use theirs.
        Err(BrokerError::InvalidField { .. }) => project_named(store, Some(name)).await,
        Err(e) => Err(e),
    }
}
