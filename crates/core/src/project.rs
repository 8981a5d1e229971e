//! Projects, their secret keys, their per-environment settings, and the principal a key resolves to.

use crate::environment::Environment;
use crate::id::{ProjectId, SecretKeyId};
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub created_at: Timestamp,
}

/// A secret key as stored: never the key itself, only its keyed hash (kept by the store) and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKeyRecord {
    pub id: SecretKeyId,
    pub project_id: ProjectId,
    pub environment: Environment,
    pub hint: String,
    /// A label the developer chose (e.g. "billing backend"); none for keys made without one.
    pub name: Option<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// Roughly when the key last authenticated a request (recorded at most once a minute per node).
    pub last_used_at: Option<Timestamp>,
}

/// Who is calling: the (project, environment) a valid, unrevoked secret key resolves to, with that
/// environment's settings as they were when the key was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub project_id: ProjectId,
    pub environment: Environment,
    pub key_id: SecretKeyId,
    pub settings: ProjectSettings,
}

/// How the connect modal presents itself when the host page does not say: the developer's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    pub company_name: Option<String>,
    /// An https (or http) URL of the logo the modal shows.
    pub logo_url: Option<String>,
    /// `light` or `dark`.
    pub theme: Option<String>,
}

/// How a project environment serves requests. Everything is off by default (Pica's behaviour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectSettings {
    /// Passthrough requests must carry an action id; without one they are refused.
    pub require_action_ids: bool,
}
