//! AuthKit sessions: what `POST /v1/authkit` mints for the connect modal. A session token is random, lives
//! minutes, is stored only as a keyed hash, and is bound to (project, environment, identity, identityType):
//! it can list that environment's enabled integrations and create connections for that identity, nothing else.

use keyway_core::environment::Environment;
use keyway_core::id::ProjectId;
use keyway_core::identity::{Identity, IdentityType};
use keyway_core::secret_key::BASE62;
use keyway_core::timestamp::Timestamp;
use keyway_crypto::random;
use keyway_store::authkit_sessions::AuthkitSession;
use secrecy::{ExposeSecret, SecretString};

use crate::error::BrokerError;
use crate::Broker;

const HASH_DOMAIN: &str = "authkit-session";
pub const TOKEN_PREFIX: &str = "akt_";
const TOKEN_BODY_LEN: usize = 43;
/// How long a session token may be used.
pub const SESSION_SECONDS: i64 = 15 * 60;

/// A newly minted session and its token (returned once).
#[derive(Debug)]
pub struct NewSession {
    pub session: AuthkitSession,
    pub token: SecretString,
}

impl Broker {
    pub async fn create_authkit_session(
        &self,
        project: &ProjectId,
        environment: Environment,
        identity: Identity,
        identity_type: IdentityType,
    ) -> Result<NewSession, BrokerError> {
        let now = Timestamp::now();
        let token = SecretString::from(format!(
            "{TOKEN_PREFIX}{}",
            random::string_from(BASE62, TOKEN_BODY_LEN)
        ));
        let session = AuthkitSession {
            id: format!("aks_{}", random::hex::<16>()),
            project_id: project.clone(),
            environment,
            identity,
            identity_type,
            created_at: now,
            expires_at: now.plus_seconds(SESSION_SECONDS),
        };
        let hash = self
            .hasher
            .hash(HASH_DOMAIN, token.expose_secret().as_bytes());
        self.store.insert_authkit_session(&session, &hash).await?;
        // Keep the table small: sessions dead for a day are of no use even to the audit trail.
        if let Err(e) = self
            .store
            .purge_authkit_sessions(now.plus_seconds(-86_400))
            .await
        {
            tracing::warn!(error = %e, "could not purge expired authkit sessions");
        }
        Ok(NewSession { session, token })
    }

    /// The live session a presented token belongs to, or `None` (unknown, malformed or expired).
    pub async fn authkit_session(
        &self,
        presented: &str,
    ) -> Result<Option<AuthkitSession>, BrokerError> {
        let well_formed = presented.strip_prefix(TOKEN_PREFIX).is_some_and(|b| {
            b.len() == TOKEN_BODY_LEN && b.bytes().all(|c| c.is_ascii_alphanumeric())
        });
        if !well_formed {
            return Ok(None);
        }
        let hash = self.hasher.hash(HASH_DOMAIN, presented.as_bytes());
        Ok(self.store.authkit_session(&hash, Timestamp::now()).await?)
    }
}
