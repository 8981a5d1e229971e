//! Operators: the people who sign in to the dashboard. An operator's role decides what they may change;
//! roles are checked by the server on every action, never only by what a page shows.

use std::fmt;
use std::str::FromStr;

use crate::id::OperatorId;
use crate::timestamp::Timestamp;

/// What an operator may do, from most to least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Everything, including operator accounts.
    Owner,
    /// Every project setting, key and connection; not accounts.
    Admin,
    /// Reads everything, changes nothing, never sees a secret.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// May change project settings, integrations, keys and connections.
    pub fn can_change(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// May manage operator accounts.
    pub fn can_manage_accounts(self) -> bool {
        self == Role::Owner
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be one of owner, admin, viewer (got {0:?})")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            other => Err(UnknownRole(other.chars().take(32).collect())),
        }
    }
}

/// An operator account as stored. The password hash stays in the store crate's own type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: OperatorId,
    /// Lowercased; unique.
    pub email: String,
    pub role: Role,
    /// False until the account's one-time link has been used to choose a password.
    pub has_password: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An email address as accounts hold it: trimmed, lowercased, one `@` with text on both sides, no spaces
/// or control characters, at most 254 characters. Not a full RFC 5322 parser: the address is a sign-in
/// name, never mailed by Keyway.
pub fn normalise_email(raw: &str) -> Result<String, InvalidEmail> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(InvalidEmail)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enter an email address such as you@example.com")]
pub struct InvalidEmail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_rank() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
        assert!(Role::Admin.can_change() && !Role::Viewer.can_change());
        assert!(Role::Owner.can_manage_accounts() && !Role::Admin.can_manage_accounts());
    }

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            normalise_email("  Ada@Example.COM "),
            Ok("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert_eq!(normalise_email(bad), Err(InvalidEmail), "{bad:?}");
        }
    }
}
