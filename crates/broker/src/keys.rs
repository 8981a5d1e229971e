//! Secret keys: creation (shown once), authentication, listing, revocation.
//! Keys are stored as an HMAC under the server pepper; lookups compare in constant time.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use keyway_core::audit::{Actor, AuditEvent};
use keyway_core::environment::Environment;
use keyway_core::id::{ProjectId, SecretKeyId};
use keyway_core::project::{Principal, SecretKeyRecord};
use keyway_core::secret_key::{SecretKey, BASE62, BODY_LEN};
use keyway_core::timestamp::Timestamp;
use keyway_crypto::keyed_hash::KeyedHasher;
use keyway_crypto::random;
use keyway_store::secret_keys::NewSecretKey;
use keyway_store::Store;

use crate::error::BrokerError;

const HASH_DOMAIN: &str = "secret-key";

/// A secret key's keyed hash as raw bytes (the store keeps it hex-encoded).
type KeyDigest = [u8; 32];

#[derive(Clone, Debug)]
pub struct SecretKeys {
    store: Store,
    hasher: Arc<KeyedHasher>,
    /// Recently verified keys (hash → principal, with the environment's settings), so the hot path skips
    /// the database. Revocation and settings changes clear entries on this node at once and on other
    /// Postgres nodes by notification; anything else ages out within `AUTH_CACHE_TTL`.
    verified: Arc<
        std::sync::Mutex<std::collections::HashMap<KeyDigest, (std::time::Instant, Principal)>>,
    >,
    /// Bumped (under the `verified` lock) by every forget: a verification that read the database before
    /// a forget does not cache what it read, so a change is never undone by a request racing it.
    forgets: Arc<std::sync::atomic::AtomicU64>,
    /// When this process last recorded each key's use, so `last_used_at` costs at most one write per key
    /// per `LAST_USED_EVERY`, off the request path.
    used_recorded:
        Arc<std::sync::Mutex<std::collections::HashMap<SecretKeyId, std::time::Instant>>>,
}

/// How often a key's `last_used_at` is written (per node).
pub const LAST_USED_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a dashboard key check takes, whatever the answer.
pub const CHECK_DURATION: std::time::Duration = std::time::Duration::from_millis(250);
/// Longest key name.
pub const MAX_NAME_CHARS: usize = 64;

/// How long a verified key is trusted without asking the database again.
pub const AUTH_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Prefix of change notifications about secret keys (connection changes carry bare connection ids).
pub const KEY_CHANGE_PREFIX: &str = "key:";
/// Prefix of change notifications about a project's settings (followed by the project id).
pub const SETTINGS_CHANGE_PREFIX: &str = "settings:";

/// Why a presented key was refused. All of them are "unauthorized" to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no secret key was presented")]
    Missing,
    #[error("the secret key is malformed")]
    Malformed,
    #[error("the secret key is unknown")]
    Unknown,
    #[error("the secret key has been revoked")]
    Revoked,
}

/// A freshly minted key: its record, and the key itself, which is never available again.
#[derive(Debug)]
pub struct MintedKey {
    pub record: SecretKeyRecord,
    pub key: SecretKey,
}

impl SecretKeys {
    pub fn new(store: Store, hasher: Arc<KeyedHasher>) -> Self {
        Self {
            store,
            hasher,
            verified: Arc::default(),
            forgets: Arc::default(),
            used_recorded: Arc::default(),
        }
    }

    /// Forgets cached verifications of this key (by id), or of every key.
    pub fn forget(&self, key_id: Option<&str>) {
        self.forget_where(|p| key_id.is_none_or(|id| p.key_id.as_str() == id));
    }

    /// Forgets cached verifications of every key of this project, so its next requests read its
    /// settings again.
    pub fn forget_project(&self, project_id: &str) {
        self.forget_where(|p| p.project_id.as_str() == project_id);
    }

    /// Drops the cached verifications `forget` matches, and makes any verification already reading the
    /// database skip caching what it read.
    fn forget_where(&self, forget: impl Fn(&Principal) -> bool) {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        self.forgets.fetch_add(1, Ordering::SeqCst);
        verified.retain(|_, (_, p)| !forget(p));
    }

    /// After a project's settings changed: forgets its keys here and tells the other nodes (Postgres) to
    /// do the same. A failed announcement is logged; other nodes then catch up within `AUTH_CACHE_TTL`.
    pub async fn settings_changed(&self, project_id: &ProjectId) {
        self.forget_project(project_id.as_str());
        let announcement = format!("{SETTINGS_CHANGE_PREFIX}{project_id}");
        if let Err(e) = self.store.announce_change(&announcement).await {
            tracing::warn!(error = %e, "could not announce a settings change to other nodes");
        }
    }

    /// A new random key and what to store for it; nothing is written.
    pub fn mint(
        &self,
        project_id: &ProjectId,
        environment: Environment,
        name: Option<String>,
    ) -> (MintedKey, NewSecretKey) {
        let key = SecretKey::from_body(environment, &random::string_from(BASE62, BODY_LEN))
            .expect("random base62 body of the right length is well-formed");
        let record = SecretKeyRecord {
            id: SecretKeyId::generate(),
            project_id: project_id.clone(),
            environment,
            hint: key.hint(),
            name,
            created_at: Timestamp::now(),
            revoked_at: None,
            last_used_at: None,
        };
        let stored = NewSecretKey {
            record: record.clone(),
            key_hash: self.hasher.hash(HASH_DOMAIN, key.expose().as_bytes()),
        };
        (MintedKey { record, key }, stored)
    }

    /// Creates a key (its name optional, at most 64 characters) and records who did.
    pub async fn create(
        &self,
        project_id: &ProjectId,
        environment: Environment,
        name: Option<String>,
        actor: &Actor,
    ) -> Result<MintedKey, BrokerError> {
        let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if let Some(n) = &name {
            if n.chars().count() > MAX_NAME_CHARS || n.chars().any(char::is_control) {
                return Err(BrokerError::InvalidField {
                    field: "name".into(),
                    message: format!("A key name is at most {MAX_NAME_CHARS} characters"),
                });
            }
        }
        let (minted, stored) = self.mint(project_id, environment, name);
        let mut event = AuditEvent::new(actor, "key.created", Some(minted.record.id.to_string()))
            .in_project(project_id, Some(environment))
            .with("hint", minted.record.hint.clone());
        if let Some(n) = &minted.record.name {
            event = event.with("name", n.clone());
        }
        self.store.insert_secret_key(&stored, Some(&event)).await?;
        Ok(minted)
    }

    /// Whether `presented` is a valid, unrevoked key, and whose: for a person checking a pasted key.
    /// Always takes `CHECK_DURATION`, so the answer's timing tells nothing of why a key was refused.
    pub async fn check(&self, presented: &str) -> Result<Option<Principal>, BrokerError> {
        let deadline = tokio::time::Instant::now() + CHECK_DURATION;
        let answer = self.authenticate(Some(presented)).await;
        tokio::time::sleep_until(deadline).await;
        Ok(answer?.ok())
    }

    /// Notes that a key was used; writes `last_used_at` in the background at most once per
    /// `LAST_USED_EVERY` per key on this node.
    fn note_used(&self, key_id: &SecretKeyId) {
        let now = std::time::Instant::now();
        {
            let mut recorded = self.used_recorded.lock().unwrap_or_else(|p| p.into_inner());
            if recorded
                .get(key_id)
                .is_some_and(|at| now.duration_since(*at) < LAST_USED_EVERY)
            {
                return;
            }
            if recorded.len() > 10_000 {
                recorded.clear();
            }
            recorded.insert(key_id.clone(), now);
        }
        let (store, key_id) = (self.store.clone(), key_id.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.touch_secret_key(&key_id, Timestamp::now()).await {
                    tracing::debug!(error = %e, "could not record a key's last use");
                }
            });
        }
    }

    /// Resolves a presented key to its (project, environment). Storage failures are errors, not refusals.
    pub async fn authenticate(
        &self,
        presented: Option<&str>,
    ) -> Result<Result<Principal, AuthError>, BrokerError> {
        let Some(presented) = presented else {
            return Ok(Err(AuthError::Missing));
        };
        let Ok(key) = SecretKey::parse(presented.trim()) else {
            return Ok(Err(AuthError::Malformed));
        };
        let digest = self.hasher.digest(HASH_DOMAIN, key.expose().as_bytes());
        if let Some((at, principal)) = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&digest)
        {
            if at.elapsed() < AUTH_CACHE_TTL {
                return Ok(Ok(principal.clone()));
            }
        }
        let forgets = self.forgets.load(Ordering::SeqCst);
        let hash = hex::encode(digest);
        let Some((stored, settings)) = self.store.secret_key_with_settings(&hash).await? else {
            return Ok(Err(AuthError::Unknown));
        };
        if !self
            .hasher
            .verify(HASH_DOMAIN, key.expose().as_bytes(), &stored.key_hash)
            || stored.record.environment != key.environment()
        {
            return Ok(Err(AuthError::Unknown));
        }
        if stored.record.revoked_at.is_some() {
            return Ok(Err(AuthError::Revoked));
        }
        self.note_used(&stored.record.id);
        let principal = Principal {
            project_id: stored.record.project_id,
            environment: stored.record.environment,
            key_id: stored.record.id,
            settings,
        };
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if self.forgets.load(Ordering::SeqCst) == forgets {
            if verified.len() > 10_000 {
                verified.clear();
            }
            verified.insert(digest, (std::time::Instant::now(), principal.clone()));
        }
        Ok(Ok(principal))
    }

    pub async fn list(
        &self,
        project_id: Option<&ProjectId>,
    ) -> Result<Vec<SecretKeyRecord>, BrokerError> {
        Ok(self.store.list_secret_keys(project_id).await?)
    }

    /// Revokes by key id (`key_…`) or by the full secret key, and records who did.
    pub async fn revoke(
        &self,
        id_or_key: &str,
        actor: &Actor,
    ) -> Result<SecretKeyRecord, BrokerError> {
        let id = if let Ok(key) = SecretKey::parse(id_or_key.trim()) {
            let hash = self.hasher.hash(HASH_DOMAIN, key.expose().as_bytes());
            self.store
                .secret_key_by_hash(&hash)
                .await?
                .map(|k| k.record.id)
                .ok_or_else(|| BrokerError::SecretKeyNotFound(key.hint()))?
        } else {
            id_or_key
                .trim()
                .parse::<SecretKeyId>()
                .map_err(|_| BrokerError::SecretKeyNotFound(id_or_key.chars().take(40).collect()))?
        };
        let record = self
            .store
            .list_secret_keys(None)
            .await?
            .into_iter()
            .find(|k| k.id == id && k.revoked_at.is_none())
            .ok_or_else(|| BrokerError::SecretKeyNotFound(id.to_string()))?;
        let event = AuditEvent::new(actor, "key.revoked", Some(id.to_string()))
            .in_project(&record.project_id, Some(record.environment))
            .with("hint", record.hint.clone());
        if !self
            .store
            .revoke_secret_key(&id, Timestamp::now(), Some(&event))
            .await?
        {
            return Err(BrokerError::SecretKeyNotFound(id.to_string()));
        }
        self.forget(Some(id.as_str()));
        let announcement = format!("{KEY_CHANGE_PREFIX}{id}");
        if let Err(e) = self.store.announce_change(&announcement).await {
            tracing::warn!(error = %e, "could not announce a key revocation to other nodes");
        }
        self.store
            .list_secret_keys(None)
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(|| BrokerError::SecretKeyNotFound(id.to_string()))
    }
}
