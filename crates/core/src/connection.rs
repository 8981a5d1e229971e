//! A connection: one identity's credentials for one platform, in one project environment.
//! Its key (`{env}::{platform}::default::{32 hex}|{identity}`) is what SDKs and agents hold.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::environment::Environment;
use crate::id::ProjectId;
use crate::identity::{Identity, IdentityType};
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionState {
    Operational,
    Degraded,
    Failed,
    Unknown,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Operational => "operational",
            ConnectionState::Degraded => "degraded",
            ConnectionState::Failed => "failed",
            ConnectionState::Unknown => "unknown",
        }
    }
}

impl FromStr for ConnectionState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "operational" => Ok(ConnectionState::Operational),
            "degraded" => Ok(ConnectionState::Degraded),
            "failed" => Ok(ConnectionState::Failed),
            "unknown" => Ok(ConnectionState::Unknown),
            other => Err(format!("unknown connection state {other:?}")),
        }
    }
}

/// A well-formed connection key. Built by Keyway, returned byte-identical everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectionKey(String);

impl ConnectionKey {
    pub fn build(
        environment: Environment,
        platform: &str,
        id_hex: &str,
        identity: &Identity,
    ) -> Self {
        Self(format!(
            "{environment}::{platform}::default::{id_hex}|{identity}"
        ))
    }

    pub fn from_trusted(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The environment a key claims, if it is shaped like a key at all.
    pub fn environment_of(key: &str) -> Option<Environment> {
        key.split("::").next().and_then(|e| e.parse().ok())
    }
}

impl fmt::Display for ConnectionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `conn_` + the same 32 hex characters as in the key.
    pub id: String,
    pub key: ConnectionKey,
    pub project_id: ProjectId,
    pub environment: Environment,
    pub platform: String,
    pub platform_version: String,
    pub identity: Identity,
    pub identity_type: IdentityType,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub state: ConnectionState,
    pub active: bool,
    pub version: i64,
    /// Non-secret connection fields (e.g. a subdomain); secrets live sealed elsewhere.
    pub fields: BTreeMap<String, String>,
    pub oauth_expires_at: Option<Timestamp>,
    /// When the current access token was obtained: set with a known expiry at connect, and by every
    /// refresh (strictly later each time). Gives the token's lifetime, and tells one token from the next.
    pub oauth_issued_at: Option<Timestamp>,
    pub oauth_scopes: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Connection {
    /// Whether its OAuth tokens are ones Keyway refreshes: they have a known expiry, or were refreshed.
    pub fn refreshable(&self) -> bool {
        self.oauth_expires_at.is_some() || self.oauth_issued_at.is_some()
    }
}

/// What a list may filter on. Every filter is ANDed; `tags` requires all listed tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    pub identity: Option<String>,
    pub identity_type: Option<IdentityType>,
    pub platform: Option<String>,
    pub platform_version: Option<String>,
    pub name: Option<String>,
    pub keys: Option<Vec<String>>,
    pub tags: Vec<String>,
    pub active: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_has_the_pica_shape() {
        let identity = Identity::parse("user-123").expect("identity");
        let key = ConnectionKey::build(
            Environment::Test,
            "exa",
            "af92aee9cbcd4aae904b9b01d3c75c40",
            &identity,
        );
        assert_eq!(
            key.as_str(),
            "test::exa::default::af92aee9cbcd4aae904b9b01d3c75c40|user-123"
        );
        assert_eq!(
            ConnectionKey::environment_of(key.as_str()),
            Some(Environment::Test)
        );
        assert_eq!(ConnectionKey::environment_of("prod::x"), None);
    }
}
