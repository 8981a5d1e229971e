//! Reading the audit trail (writing happens inside each change's own transaction, in `store`).

use keyway_core::audit::AuditEvent;
use keyway_store::audit::{AuditCursor, AuditFilter};

use crate::error::BrokerError;
use crate::Broker;

impl Broker {
    /// Up to `limit` events older than `after`, newest first, and whether more follow.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        after: Option<&AuditCursor>,
        limit: u32,
    ) -> Result<(Vec<AuditEvent>, bool), BrokerError> {
        Ok(self.store.list_audit_events(filter, after, limit).await?)
    }
}
