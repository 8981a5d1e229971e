//! Action ids on passthrough requests (pica-compat §3, §10): `conn_mod_def::{11}::{22}`. A given id must
//! name an action of the catalog, of the connection's platform, whose method is the request's and whose
//! path template the request path fills (values raw or percent-encoded). Each failed check is its own error.

use keyway_catalog::actions::id::ActionId;
use keyway_catalog::actions::Action;

use crate::error::{ActionCheck, BrokerError};
use crate::Broker;

/// Whether `id` has the shape `conn_mod_def::` + 11 + `::` + 22 base64url characters.
pub fn well_formed(id: &str) -> bool {
    ActionId::well_formed(id)
}

impl Broker {
    /// The action `id`, if the catalog has it.
    pub fn action(&self, id: &str) -> Option<&Action> {
        self.catalog.actions().get(id)
    }

    /// Checks the action id a passthrough request carries against the connection's platform, the
    /// request method and the path relative to the platform's base URL.
    pub fn check_passthrough_action(
        &self,
        platform: &str,
        action_id: &str,
        method: &str,
        path: &str,
    ) -> Result<(), BrokerError> {
        if !well_formed(action_id) {
            return Err(BrokerError::InvalidActionId);
        }
        let action = self
            .action(action_id)
            .ok_or_else(|| BrokerError::UnknownAction(action_id.to_owned()))?;
        let described = format!("{} {}", action.method(), action.path());
        if platform != action.platform() {
            return Err(BrokerError::ActionMismatch {
                check: ActionCheck::Platform,
                message: format!(
                    "action {action_id} belongs to {}, but this connection is a {platform} connection",
                    action.platform()
                ),
            });
        }
        if !method.eq_ignore_ascii_case(action.method().as_str()) {
            return Err(BrokerError::ActionMismatch {
                check: ActionCheck::Method,
                message: format!(
                    "action {action_id} is {described}, but this request is a {}",
                    method.to_ascii_uppercase()
                ),
            });
        }
        if !action.path().matches(path) {
            return Err(BrokerError::ActionMismatch {
                check: ActionCheck::Path,
                message: format!(
                    "action {action_id} is {described}, but the request path {} does not fill that template",
                    path.chars().take(200).collect::<String>()
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn action_id_shape() {
        assert!(super::well_formed(
            "conn_mod_def::F_JeCYGuzvg::yAM6bqGdRdm91ZbYejlbEA"
        ));
        assert!(!super::well_formed("conn_mod_def::F_JeCYGuzvg"));
    }
}
