//! The audit trail's vocabulary: who changed what, when, from where. An event never holds a secret: its
//! detail names what changed (a client id, a scope list, "client secret replaced"), never a value that
//! grants access.

use std::collections::BTreeMap;

use crate::environment::Environment;
use crate::id::ProjectId;
use crate::timestamp::Timestamp;

/// Through which door a change came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A person signed in to the dashboard.
    Operator,
    /// A developer's backend, with a secret key.
    SecretKey,
    /// The `keyway` command line, on the database directly.
    Cli,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Operator => "operator",
            ActorKind::SecretKey => "secret_key",
            ActorKind::Cli => "cli",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "operator" => Some(ActorKind::Operator),
            "secret_key" => Some(ActorKind::SecretKey),
            "cli" => Some(ActorKind::Cli),
            _ => None,
        }
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// The operator's or the secret key's id; none for the CLI.
    pub id: Option<String>,
    /// What a reader recognises: an email, a key's hint, `cli (user)`.
    pub label: String,
    /// The client's address, for changes that arrived over HTTP.
    pub address: Option<String>,
}

impl Actor {
    /// The command line, labelled with the OS user that ran it when known.
    pub fn cli(user: Option<&str>) -> Self {
        Self {
            kind: ActorKind::Cli,
            id: None,
            label: match user {
                Some(u) if !u.is_empty() => format!("cli ({u})"),
                _ => "cli".into(),
            },
            address: None,
        }
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// `aud_` + a time-ordered UUID.
    pub id: String,
    /// None for changes outside any project (operator accounts).
    pub project_id: Option<ProjectId>,
    pub environment: Option<Environment>,
    pub actor: Actor,
    /// Stable dotted name, e.g. `integration.enabled`, `key.revoked`.
    pub action: String,
    /// What was changed: a platform, a connection id, a key id, an email.
    pub target: Option<String>,
    /// Non-secret facts about the change.
    pub detail: BTreeMap<String, String>,
    pub created_at: Timestamp,
}

impl AuditEvent {
    /// A new event now, with no detail yet.
    pub fn new(actor: &Actor, action: &str, target: Option<String>) -> Self {
        Self {
            id: crate::id::time_ordered("aud"),
            project_id: None,
            environment: None,
            actor: actor.clone(),
            action: action.to_owned(),
            target,
            detail: BTreeMap::new(),
            created_at: Timestamp::now(),
        }
    }

    /// Scoped to a project environment (or the whole project when `environment` is `None`).
    pub fn in_project(mut self, project: &ProjectId, environment: Option<Environment>) -> Self {
        self.project_id = Some(project.clone());
        self.environment = environment;
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}
