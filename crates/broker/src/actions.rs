//! Action ids on passthrough requests (pica-compat §3, §10): `conn_mod_def::{11}::{22}`. A given id must
//! belong to the connection's platform and match the request's method and path template.
//! The actions catalog does not exist yet, so no id can be matched: any well-formed id is refused as
//! unknown rather than waved through.

use keyway_core::project::Principal;

use crate::error::BrokerError;
use crate::Broker;

/// Whether `id` has the shape `conn_mod_def::` + 11 + `::` + 22 base64url characters.
pub fn well_formed(id: &str) -> bool {
    let b64 = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut parts = id.split("::");
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("conn_mod_def"), Some(a), Some(b), None) if b64(a, 11) && b64(b, 22)
    )
}

impl Broker {
    pub fn check_passthrough_action(
        &self,
        _principal: &Principal,
        _connection_key: &str,
        action_id: &str,
        _method: &str,
        _path: &str,
    ) -> Result<(), BrokerError> {
        if !well_formed(action_id) {
            return Err(BrokerError::InvalidActionId);
        }
        Err(BrokerError::UnknownAction(
            action_id.chars().take(64).collect(),
        ))
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
        assert!(!super::well_formed(
            "conn_def::F_JeCYGuzvg::yAM6bqGdRdm91ZbYejlbEA"
        ));
        assert!(!super::well_formed(
            "conn_mod_def::F_JeCYGuzv!::yAM6bqGdRdm91ZbYejlbEA"
        ));
    }
}
