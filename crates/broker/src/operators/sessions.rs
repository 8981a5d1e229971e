//! Dashboard sessions: a random token in an `HttpOnly` cookie, stored only as a keyed hash, live for at
//! most 7 days and 12 hours without use. The CSRF token of a session is derived from its token under the
//! server pepper, so it needs no storage and dies with the session.

use keyway_core::audit::AuditEvent;
use keyway_core::operator::{normalise_email, Operator};
use keyway_core::secret_key::BASE62;
use keyway_core::timestamp::Timestamp;
use keyway_crypto::random;
use keyway_store::dashboard_sessions::DashboardSession;
use secrecy::{ExposeSecret, SecretString};

use crate::error::BrokerError;
use crate::operators::{actor, password, AccountError};
use crate::Broker;

const HASH_DOMAIN: &str = "dashboard-session";
const CSRF_DOMAIN: &str = "dashboard-csrf";
pub const TOKEN_PREFIX: &str = "kws_";
const TOKEN_BODY_LEN: usize = 43;
/// A session ends this long after it began, used or not.
pub const ABSOLUTE_SECONDS: i64 = 7 * 24 * 3600;
/// A session ends when unused this long.
pub const IDLE_SECONDS: i64 = 12 * 3600;
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// A new session and its token (for the cookie; never available again).
#[derive(Debug)]
pub struct SignedIn {
    pub token: SecretString,
    pub session: DashboardSession,
    pub operator: Operator,
}

impl Broker {
    /// Checks an email and password. A wrong email, a wrong password and an account that has no
    /// password yet all answer `WrongCredentials` after the same Argon2id work; a throttled email or
    /// address answers `Throttled` before any.
    pub async fn sign_in(
        &self,
        email: &str,
        password: SecretString,
        address: Option<&str>,
    ) -> Result<SignedIn, BrokerError> {
        let subjects = self.throttle_subjects(email, address);
        if let Some(wait) = self.throttled_for(&subjects).await? {
            return Err(AccountError::Throttled(wait).into());
        }
        let found = match normalise_email(email) {
            Ok(email) => self.store.operator_by_email(&email).await?,
            Err(_) => None,
        };
        let (operator, hash) = match found {
            Some((operator, hash)) => (Some(operator), hash),
            None => (None, None),
        };
        let matches = password::verify(password, hash).await;
        let Some(operator) = operator.filter(|_| matches) else {
            self.count_failure(&subjects).await?;
            return Err(AccountError::WrongCredentials.into());
        };
        self.forget_failures(&subjects).await?;
        let signed_in = self.start_session(&operator, address).await?;
        let event = AuditEvent::new(
            &actor(&operator, address),
            "operator.signed_in",
            Some(operator.email.clone()),
        );
        if let Err(e) = self.store.record_audit(&event).await {
            tracing::warn!(error = %e, "could not record a sign-in in the audit trail");
        }
        Ok(signed_in)
    }

    /// A new session for `operator` (after a sign-in, or after choosing a password with a link).
    pub async fn start_session(
        &self,
        operator: &Operator,
        address: Option<&str>,
    ) -> Result<SignedIn, BrokerError> {
        let now = Timestamp::now();
        let token = SecretString::from(format!(
            "{TOKEN_PREFIX}{}",
            random::string_from(BASE62, TOKEN_BODY_LEN)
        ));
        let session = DashboardSession {
            id: format!("dss_{}", random::hex::<16>()),
            operator_id: operator.id.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus_seconds(ABSOLUTE_SECONDS),
            client_address: address.map(str::to_owned),
        };
        self.store
            .insert_dashboard_session(&session, &self.session_hash(token.expose_secret()))
            .await?;
        Ok(SignedIn {
            token,
            session,
            operator: operator.clone(),
        })
    }

    /// The live session a cookie's token belongs to, with its account; moves its idle deadline.
    pub async fn dashboard_session(
        &self,
        token: &str,
    ) -> Result<Option<(DashboardSession, Operator)>, BrokerError> {
        if !well_formed(token) {
            return Ok(None);
        }
        let now = Timestamp::now();
        let hash = self.session_hash(token);
        let found = self
            .store
            .dashboard_session(&hash, now, now.plus_seconds(-IDLE_SECONDS))
            .await?;
        if let Some((session, _)) = &found {
            if now.unix_millis() - session.last_seen_at.unix_millis() > TOUCH_EVERY_SECONDS * 1000 {
                self.store.touch_dashboard_session(&hash, now).await?;
            }
        }
        Ok(found)
    }

    /// Ends the session of this token (signing out). Unknown tokens are ignored.
    pub async fn end_dashboard_session(&self, token: &str) -> Result<(), BrokerError> {
        if well_formed(token) {
            self.store
                .delete_dashboard_session(&self.session_hash(token))
                .await?;
        }
        Ok(())
    }

    /// The CSRF token every state-changing dashboard request of this session must carry.
    pub fn csrf_token(&self, session_token: &str) -> String {
        self.hasher.hash(CSRF_DOMAIN, session_token.as_bytes())
    }

    /// Compares in constant time.
    pub fn csrf_matches(&self, session_token: &str, presented: &str) -> bool {
        self.hasher
            .verify(CSRF_DOMAIN, session_token.as_bytes(), presented)
    }

    pub(crate) fn session_hash(&self, token: &str) -> String {
        self.hasher.hash(HASH_DOMAIN, token.as_bytes())
    }
}

fn well_formed(token: &str) -> bool {
    token
        .strip_prefix(TOKEN_PREFIX)
        .is_some_and(|b| b.len() == TOKEN_BODY_LEN && b.bytes().all(|c| c.is_ascii_alphanumeric()))
}
