//! Connections as the developer API sees them: always within the caller's (project, environment).

use keyway_core::audit::{Actor, AuditEvent};
use keyway_core::connection::{Connection, ConnectionFilter};
use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::project::Principal;
use keyway_core::timestamp::Timestamp;
use keyway_store::connection_browse::{BrowseCursor, BrowseFilter, RefreshStatus};
use keyway_store::connections::Window;

use crate::error::BrokerError;
use crate::Broker;

impl Broker {
    /// A page of the caller's connections and the exact number the filter matches.
    pub async fn list_connections(
        &self,
        principal: &Principal,
        filter: &ConnectionFilter,
        window: Window,
    ) -> Result<(Vec<Connection>, u64), BrokerError> {
        Ok(self
            .store
            .list_connections(&principal.project_id, principal.environment, filter, window)
            .await?)
    }

    /// One of the caller's connections; another project's or environment's is `None`, like a missing one.
    pub async fn connection(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Option<Connection>, BrokerError> {
        self.connection_in(&principal.project_id, principal.environment, id)
            .await
    }
}

/// Purpose (part of the AAD) of a connection's sealed credentials.
pub const CREDENTIALS_PURPOSE: &str = "connection.credentials";
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_LEN: usize = 64;

/// Whether `id` could name a stored connection: PostgreSQL text cannot hold NUL, so an id with one names
/// none (and would fail the query there rather than find nothing).
fn could_exist(id: &str) -> bool {
    !id.contains('\0')
}

/// Where a connection's sealed credentials live.
pub fn credentials_id(connection_id: &str) -> String {
    format!("{connection_id}/credentials")
}

/// Tags: at most 32 given, each 1–64 characters once trimmed, without commas (the list separator) or
/// control characters; duplicates dropped, order kept.
pub fn validate_tags(tags: Vec<String>) -> Result<Vec<String>, BrokerError> {
    if tags.len() > MAX_TAGS {
        return Err(BrokerError::InvalidInput(format!(
            "at most {MAX_TAGS} tags"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim().to_owned();
        let len = tag.chars().count();
        if len == 0 || len > MAX_TAG_LEN || tag.chars().any(|c| c == ',' || c.is_control()) {
            return Err(BrokerError::InvalidInput(format!(
                "each tag must be 1 to {MAX_TAG_LEN} characters without commas"
            )));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

impl Broker {
    /// Replaces a connection's tags, recording who did.
    pub async fn set_connection_tags(
        &self,
        project: &ProjectId,
        env: Environment,
        id: &str,
        tags: Vec<String>,
        actor: &Actor,
    ) -> Result<Connection, BrokerError> {
        let tags = validate_tags(tags)?;
        if !could_exist(id) {
            return Err(BrokerError::ConnectionNotFound);
        }
        let event = AuditEvent::new(actor, "connection.tags_changed", Some(id.to_owned()))
            .in_project(project, Some(env))
            .with("tags", tags.join(", "));
        let updated = self
            .store
            .set_connection_tags(project, env, id, &tags, Timestamp::now(), Some(&event))
            .await?
            .ok_or(BrokerError::ConnectionNotFound)?;
        self.connection_changed(id).await;
        Ok(updated)
    }

    /// Deletes a connection and its sealed credentials, recording who did (and whose it was).
    pub async fn delete_connection(
        &self,
        project: &ProjectId,
        env: Environment,
        id: &str,
        actor: &Actor,
    ) -> Result<(), BrokerError> {
        if !could_exist(id) {
            return Err(BrokerError::ConnectionNotFound);
        }
        let existing = self
            .store
            .connection(project, env, id)
            .await?
            .ok_or(BrokerError::ConnectionNotFound)?;
        let event = AuditEvent::new(actor, "connection.deleted", Some(id.to_owned()))
            .in_project(project, Some(env))
            .with("platform", existing.platform.clone())
            .with("identity", existing.identity.as_str())
            .with("identityType", existing.identity_type.as_str());
        if self
            .store
            .delete_connection(project, env, id, &credentials_id(id), Some(&event))
            .await?
        {
            self.connection_changed(id).await;
            Ok(())
        } else {
            Err(BrokerError::ConnectionNotFound)
        }
    }
}

/// The dashboard's reads: any connection of a project environment, found and paged by what an operator
/// types (no secret key involved; the session's role was checked by the caller).
impl Broker {
    /// One connection of this project environment.
    pub async fn connection_in(
        &self,
        project: &ProjectId,
        env: Environment,
        id: &str,
    ) -> Result<Option<Connection>, BrokerError> {
        if !could_exist(id) {
            return Ok(None);
        }
        Ok(self.store.connection(project, env, id).await?)
    }

    /// Up to `limit` connections after `after` (keyset), and whether more follow.
    pub async fn browse_connections(
        &self,
        project: &ProjectId,
        env: Environment,
        filter: &BrowseFilter,
        after: Option<&BrowseCursor>,
        limit: u32,
    ) -> Result<(Vec<Connection>, bool), BrokerError> {
        Ok(self
            .store
            .browse_connections(project, env, filter, after, limit)
            .await?)
    }

    /// How many connections match, counted no further than `cap`.
    pub async fn count_connections(
        &self,
        project: &ProjectId,
        env: Environment,
        filter: &BrowseFilter,
        cap: u32,
    ) -> Result<u64, BrokerError> {
        Ok(self
            .store
            .count_connections_up_to(project, env, filter, cap)
            .await?)
    }

    /// When a connection's token was last refreshed and how that went.
    pub async fn refresh_status(
        &self,
        project: &ProjectId,
        env: Environment,
        id: &str,
    ) -> Result<Option<RefreshStatus>, BrokerError> {
        Ok(self
            .store
            .connection_refresh_status(project, env, id)
            .await?)
    }
}
