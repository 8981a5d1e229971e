//! Who a connection belongs to: an identity string chosen by the developer and its type.
//! An identity is embedded in connection keys after `|`, so it may not contain `:`, `|`, whitespace or
//! control characters (they corrupt the SDKs' key parsing); at most 128 characters.

use std::fmt;
use std::str::FromStr;

pub const MAX_IDENTITY_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIdentity {
    #[error("identity must not be empty")]
    Empty,
    #[error("identity must be at most {MAX_IDENTITY_LEN} characters")]
    TooLong,
    #[error("identity must not contain spaces, control characters, ':' or '|' (found {0:?})")]
    BadCharacter(char),
}

impl Identity {
    pub fn parse(value: &str) -> Result<Self, InvalidIdentity> {
        if value.is_empty() {
            return Err(InvalidIdentity::Empty);
        }
        if value.chars().count() > MAX_IDENTITY_LEN {
            return Err(InvalidIdentity::TooLong);
        }
        if let Some(bad) = value
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == ':' || *c == '|')
        {
            return Err(InvalidIdentity::BadCharacter(bad));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityType {
    User,
    Team,
    Organization,
    Project,
}

impl IdentityType {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityType::User => "user",
            IdentityType::Team => "team",
            IdentityType::Organization => "organization",
            IdentityType::Project => "project",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identityType must be one of user, team, organization, project (got {0:?})")]
pub struct InvalidIdentityType(pub String);

impl FromStr for IdentityType {
    type Err = InvalidIdentityType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(IdentityType::User),
            "team" => Ok(IdentityType::Team),
            "organization" => Ok(IdentityType::Organization),
            "project" => Ok(IdentityType::Project),
            other => Err(InvalidIdentityType(other.chars().take(40).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ids_and_emails_rejects_key_breaking_characters() {
        for ok in ["user_123", "alice@example.com", "org/42", "a+b=c"] {
            assert!(Identity::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Identity::parse(""), Err(InvalidIdentity::Empty));
        assert_eq!(
            Identity::parse("a:b"),
            Err(InvalidIdentity::BadCharacter(':'))
        );
        assert_eq!(
            Identity::parse("a|b"),
            Err(InvalidIdentity::BadCharacter('|'))
        );
        assert_eq!(
            Identity::parse("a b"),
            Err(InvalidIdentity::BadCharacter(' '))
        );
        assert_eq!(
            Identity::parse(&"x".repeat(129)),
            Err(InvalidIdentity::TooLong)
        );
        assert!(Identity::parse(&"x".repeat(128)).is_ok());
    }

    #[test]
    fn identity_types_parse_exactly() {
        assert_eq!(
            "team".parse::<IdentityType>().ok(),
            Some(IdentityType::Team)
        );
        assert!("User".parse::<IdentityType>().is_err());
    }
}
