//! Secret keys: creation (shown once), authentication, listing, revocation.
//! Keys are stored as an HMAC under the server pepper; lookups compare in constant time.

use std::sync::atomic::Ordering;
use std::sync::Arc;

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
}

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
    ) -> (MintedKey, NewSecretKey) {
        let key = SecretKey::from_body(environment, &random::string_from(BASE62, BODY_LEN))
            .expect("random base62 body of the right length is well-formed");
        let record = SecretKeyRecord {
            id: SecretKeyId::generate(),
            project_id: project_id.clone(),
            environment,
            hint: key.hint(),
            created_at: Timestamp::now(),
            revoked_at: None,
        };
        let stored = NewSecretKey {
            record: record.clone(),
            key_hash: self.hasher.hash(HASH_DOMAIN, key.expose().as_bytes()),
        };
        (MintedKey { record, key }, stored)
    }

    pub async fn create(
        &self,
        project_id: &ProjectId,
        environment: Environment,
    ) -> Result<MintedKey, BrokerError> {
        let (minted, stored) = self.mint(project_id, environment);
        self.store.insert_secret_key(&stored).await?;
        Ok(minted)
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

    /// Revokes by key id (`key_…`) or by the full secret key.
    pub async fn revoke(&self, id_or_key: &str) -> Result<SecretKeyRecord, BrokerError> {
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
        if !self.store.revoke_secret_key(&id, Timestamp::now()).await? {
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
