//! Action ids in Pica's form, `conn_mod_def::{11}::{22}` (pica-compat §3): unpadded base64url of 8 and
//! 16 bytes. Invariant: an id is a pure function of platform, method and path template (SHA-256), so
//! it never changes across rebuilds or re-imports, and never depends on time.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "conn_mod_def";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActionId(String);

impl ActionId {
    /// The id of the action `method path` (method uppercase, path as the template is written).
    pub fn derive(platform: &str, method: &str, path: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(platform.as_bytes())
            .chain_update([0])
            .chain_update(method.to_ascii_uppercase().as_bytes())
            .chain_update([0])
            .chain_update(path.as_bytes())
            .finalize();
        Self(format!(
            "{PREFIX}::{}::{}",
            URL_SAFE_NO_PAD.encode(&digest[..8]),
            URL_SAFE_NO_PAD.encode(&digest[8..24])
        ))
    }

    /// Whether `text` has the shape `conn_mod_def::` + 11 + `::` + 22 base64url characters.
    pub fn well_formed(text: &str) -> bool {
        let b64 = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let mut parts = text.split("::");
        matches!(
            (parts.next(), parts.next(), parts.next(), parts.next()),
            (Some(PREFIX), Some(a), Some(b), None) if b64(a, 11) && b64(b, 22)
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ActionId;

    #[test]
    fn derived_ids_are_stable_and_well_formed() {
        let id = ActionId::derive("github", "get", "/repos/{{owner}}/{{repo}}/issues");
        assert_eq!(
            id,
            ActionId::derive("github", "GET", "/repos/{{owner}}/{{repo}}/issues")
        );
        assert!(ActionId::well_formed(id.as_str()), "{id}");
        assert_ne!(
            id,
            ActionId::derive("github", "POST", "/repos/{{owner}}/{{repo}}/issues")
        );
        assert_ne!(
            id,
            ActionId::derive("gitlab", "GET", "/repos/{{owner}}/{{repo}}/issues")
        );
    }

    #[test]
    fn shape() {
        assert!(ActionId::well_formed(
            "conn_mod_def::F_JeCYGuzvg::yAM6bqGdRdm91ZbYejlbEA"
        ));
        assert!(!ActionId::well_formed("conn_mod_def::F_JeCYGuzvg"));
        assert!(!ActionId::well_formed(
            "conn_def::F_JeCYGuzvg::yAM6bqGdRdm91ZbYejlbEA"
        ));
        assert!(!ActionId::well_formed(
            "conn_mod_def::F_JeCYGuzv!::yAM6bqGdRdm91ZbYejlbEA"
        ));
    }
}
