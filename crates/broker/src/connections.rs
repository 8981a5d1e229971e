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
