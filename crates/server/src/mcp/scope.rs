//! Who an MCP session acts for and what it may do: the secret key's (project, environment), optionally
//! one identity, and a permission level (read = GET only; write = GET, POST, PUT, PATCH; admin = all).

use std::str::FromStr;

use keyway_core::identity::{Identity, IdentityType};
use keyway_core::project::Principal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Write,
    Admin,
}

impl Permission {
    pub fn allows(self, method: &str) -> bool {
        match self {
            Permission::Read => method.eq_ignore_ascii_case("GET"),
            Permission::Write => ["GET", "POST", "PUT", "PATCH"]
                .iter()
                .any(|m| method.eq_ignore_ascii_case(m)),
            Permission::Admin => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Admin => "admin",
        }
    }
}

impl FromStr for Permission {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Permission::Read),
            "write" => Ok(Permission::Write),
            "admin" => Ok(Permission::Admin),
            other => Err(format!(
                "unknown permission level {other:?}: use read, write or admin"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct McpScope {
    pub principal: Principal,
    /// When set, only this identity's connections are visible and usable.
    pub identity: Option<(Identity, Option<IdentityType>)>,
    pub permission: Permission,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_levels() {
        assert!(Permission::Read.allows("GET") && !Permission::Read.allows("POST"));
        assert!(Permission::Write.allows("PATCH") && !Permission::Write.allows("DELETE"));
        assert!(Permission::Admin.allows("DELETE"));
        assert!("superuser".parse::<Permission>().is_err());
    }
}
