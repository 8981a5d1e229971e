//! Operators: the people who sign in to the dashboard. Accounts (`accounts`), their one-time links
//! (`links`: the first owner's setup link, and links to choose a password), passwords (`password`:
//! Argon2id), sessions (`sessions`) and sign-in throttling (`throttle`). Invariants: no password or token
//! is stored or logged, only Argon2id hashes and keyed hashes; a wrong email and a wrong password get the
//! same answer after the same work.

pub mod accounts;
pub mod links;
mod password;
pub mod sessions;
mod throttle;

use keyway_core::audit::{Actor, ActorKind};
use keyway_core::operator::Operator;

/// Why an account action was refused. Messages are written for the person at the keyboard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("This link has expired or was already used. Ask an owner for a new one, or run `keyway admin reset-password`.")]
    LinkInvalid,
    #[error("Keyway already has an owner: sign in instead.")]
    AlreadySetUp,
    #[error("Keyway needs at least one owner: make someone else an owner first.")]
    LastOwner,
    #[error("No account has that email address.")]
    NotFound,
    #[error("An account with that email address exists already.")]
    EmailTaken,
    #[error("{0}")]
    InvalidEmail(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("The email address or the password is not right.")]
    WrongCredentials,
    #[error("Too many failed attempts. Try again in {0} seconds.")]
    Throttled(u64),
}

/// Who an operator is in the audit trail.
pub fn actor(operator: &Operator, address: Option<&str>) -> Actor {
    Actor {
        kind: ActorKind::Operator,
        id: Some(operator.id.to_string()),
        label: operator.email.clone(),
        address: address.map(str::to_owned),
    }
}

impl From<keyway_store::operators::AccountRefusal> for AccountError {
    fn from(r: keyway_store::operators::AccountRefusal) -> Self {
        use keyway_store::operators::AccountRefusal;
        match r {
            AccountRefusal::LinkInvalid => AccountError::LinkInvalid,
            AccountRefusal::AlreadySetUp => AccountError::AlreadySetUp,
            AccountRefusal::LastOwner => AccountError::LastOwner,
            AccountRefusal::NotFound => AccountError::NotFound,
        }
    }
}
