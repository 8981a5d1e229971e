//! Connections as the developer API sees them: always within the caller's (project, environment).

use keyway_core::connection::{Connection, ConnectionFilter};
use keyway_core::project::Principal;
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
        Ok(self
            .store
            .connection(&principal.project_id, principal.environment, id)
            .await?)
    }
}

/// Purpose (part of the AAD) of a connection's sealed credentials.
pub const CREDENTIALS_PURPOSE: &str = "connection.credentials";
const MAX_TAGS: usize = 32;
const MAX_TAG_LEN: usize = 64;

/// Where a connection's sealed credentials live.
pub fn credentials_id(connection_id: &str) -> String {
    format!("{connection_id}/credentials")
}

/// Tags: at most 32, each 1–64 characters without commas (the list separator) or control characters;
/// duplicates dropped, order kept.
pub fn validate_tags(tags: Vec<String>) -> Result<Vec<String>, BrokerError> {
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
    if out.len() > MAX_TAGS {
        return Err(BrokerError::InvalidInput(format!(
            "at most {MAX_TAGS} tags"
        )));
    }
    Ok(out)
}

impl Broker {
    pub async fn set_connection_tags(
        &self,
        principal: &Principal,
        id: &str,
        tags: Vec<String>,
    ) -> Result<Connection, BrokerError> {
        let tags = validate_tags(tags)?;
        let updated = self
            .store
            .set_connection_tags(
                &principal.project_id,
                principal.environment,
                id,
                &tags,
                keyway_core::timestamp::Timestamp::now(),
            )
            .await?
            .ok_or(BrokerError::ConnectionNotFound)?;
        self.connection_changed(id).await;
        Ok(updated)
    }

    pub async fn delete_connection(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(), BrokerError> {
        if self
            .store
            .delete_connection(
                &principal.project_id,
                principal.environment,
                id,
                &credentials_id(id),
            )
            .await?
        {
            self.connection_changed(id).await;
            Ok(())
        } else {
            Err(BrokerError::ConnectionNotFound)
        }
    }
}
