//! One-time links: the setup link that creates the first owner (made on every start while no account
//! exists), and links that let one account choose its password (new accounts, resets). A link's token is
//! random, stored only as a keyed hash, single use, and dies after 24 hours.

use keyway_core::audit::{Actor, AuditEvent};
use keyway_core::id::OperatorId;
use keyway_core::operator::{normalise_email, Operator, Role};
use keyway_core::secret_key::BASE62;
use keyway_core::timestamp::Timestamp;
use keyway_crypto::random;
use keyway_store::error::StoreError;
use keyway_store::operators::{LinkPurpose, NewLink};
use secrecy::{ExposeSecret, SecretString};

use crate::error::BrokerError;
use crate::operators::{actor, password, AccountError};
use crate::Broker;

const HASH_DOMAIN: &str = "operator-link";
pub const TOKEN_PREFIX: &str = "kwl_";
const TOKEN_BODY_LEN: usize = 43;
/// How long a link can be used.
pub const LINK_SECONDS: i64 = 24 * 3600;

/// A link's token (shown once, in a URL) and when it stops working.
#[derive(Debug)]
pub struct Link {
    pub token: SecretString,
    pub expires_at: Timestamp,
}

impl Broker {
    fn link_hash(&self, token: &str) -> Option<String> {
        let well_formed = token.strip_prefix(TOKEN_PREFIX).is_some_and(|b| {
            b.len() == TOKEN_BODY_LEN && b.bytes().all(|c| c.is_ascii_alphanumeric())
        });
        well_formed.then(|| self.hasher.hash(HASH_DOMAIN, token.as_bytes()))
    }

    /// A new link and what to store for it.
    pub(crate) fn mint_link(
        &self,
        purpose: LinkPurpose,
        operator: Option<&OperatorId>,
    ) -> (Link, NewLink) {
        let token = SecretString::from(format!(
            "{TOKEN_PREFIX}{}",
            random::string_from(BASE62, TOKEN_BODY_LEN)
        ));
        let now = Timestamp::now();
        let stored = NewLink {
            token_hash: self
                .hasher
                .hash(HASH_DOMAIN, token.expose_secret().as_bytes()),
            purpose,
            operator_id: operator.cloned(),
            created_at: now,
            expires_at: now.plus_seconds(LINK_SECONDS),
        };
        (
            Link {
                token,
                expires_at: stored.expires_at,
            },
            stored,
        )
    }

    /// While no account exists: a new setup link (earlier ones stay valid until used or expired).
    pub async fn setup_link_if_needed(&self) -> Result<Option<Link>, BrokerError> {
        if self.store.operator_count().await? > 0 {
            return Ok(None);
        }
        let (link, stored) = self.mint_link(LinkPurpose::Setup, None);
        self.store.insert_operator_link(&stored, None).await?;
        Ok(Some(link))
    }

    /// True while `token` is a live setup link and no account exists yet.
    pub async fn setup_link_is_live(&self, token: &str) -> Result<bool, BrokerError> {
        let Some(hash) = self.link_hash(token) else {
            return Ok(false);
        };
        Ok(self
            .store
            .setup_link_is_live(&hash, Timestamp::now())
            .await?
            && self.store.operator_count().await? == 0)
    }

    /// Spends a setup link: creates the first owner with this email and password.
    pub async fn create_first_owner(
        &self,
        token: &str,
        email: &str,
        password: SecretString,
        address: Option<&str>,
    ) -> Result<Operator, BrokerError> {
        let hash = self.link_hash(token).ok_or(AccountError::LinkInvalid)?;
        let email =
            normalise_email(email).map_err(|e| AccountError::InvalidEmail(e.to_string()))?;
        password::check_policy(&password, &email)?;
        let password_hash = password::hash(password).await?;
        let now = Timestamp::now();
        let operator = Operator {
            id: OperatorId::generate(),
            email: email.clone(),
            role: Role::Owner,
            has_password: true,
            created_at: now,
            updated_at: now,
        };
        let event = AuditEvent::new(&actor(&operator, address), "operator.created", Some(email))
            .with("role", Role::Owner.as_str())
            .with("through", "setup link");
        self.store
            .create_first_owner(&hash, &operator, &password_hash, now, &event)
            .await?
            .map_err(AccountError::from)?;
        Ok(operator)
    }

    /// The account a live password link is for (the link stays unspent).
    pub async fn password_link_operator(
        &self,
        token: &str,
    ) -> Result<Option<Operator>, BrokerError> {
        let Some(hash) = self.link_hash(token) else {
            return Ok(None);
        };
        Ok(self
            .store
            .password_link_operator(&hash, Timestamp::now())
            .await?)
    }

    /// Spends a password link: the account's password becomes `password` and its sessions end.
    pub async fn set_password_with_link(
        &self,
        token: &str,
        password: SecretString,
        address: Option<&str>,
    ) -> Result<Operator, BrokerError> {
        let hash = self.link_hash(token).ok_or(AccountError::LinkInvalid)?;
        let operator = self
            .store
            .password_link_operator(&hash, Timestamp::now())
            .await?
            .ok_or(AccountError::LinkInvalid)?;
        password::check_policy(&password, &operator.email)?;
        let password_hash = password::hash(password).await?;
        let done = self
            .store
            .set_password_with_link(&hash, &password_hash, Timestamp::now(), |op| {
                AuditEvent::new(
                    &actor(op, address),
                    "operator.password_set",
                    Some(op.email.clone()),
                )
                .with("through", "one-time link")
            })
            .await?
            .map_err(AccountError::from)?;
        Ok(done)
    }

    /// A password link for an existing account (reset), replacing its earlier links.
    pub async fn password_reset_link(
        &self,
        email: &str,
        by: &Actor,
    ) -> Result<(Operator, Link), BrokerError> {
        let email =
            normalise_email(email).map_err(|e| AccountError::InvalidEmail(e.to_string()))?;
        let (operator, _) = self
            .store
            .operator_by_email(&email)
            .await?
            .ok_or(AccountError::NotFound)?;
        let (link, stored) = self.mint_link(LinkPurpose::Password, Some(&operator.id));
        let event = AuditEvent::new(by, "operator.password_link_created", Some(email));
        match self.store.insert_operator_link(&stored, Some(&event)).await {
            Ok(()) => Ok((operator, link)),
            Err(StoreError::Conflict) => Err(AccountError::LinkInvalid.into()),
            Err(e) => Err(e.into()),
        }
    }
}
