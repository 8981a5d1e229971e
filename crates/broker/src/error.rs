//! The broker's failures. `server` maps each to a status and a stable code; the binary prints them.

use keyway_crypto::error::CryptoError;
use keyway_store::error::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(
        "wrong master key: this database was sealed with master key {known} but the configured key is {configured}. \
         Set KEYWAY_MASTER_KEY (or KEYWAY_MASTER_KEY_FILE) to the key this database was created with"
    )]
    WrongMasterKey { known: String, configured: String },
    #[error(
        "{rows} sealed value(s) use master key {key_id}, which is not configured. Keep that key in KEYWAY_MASTER_KEY \
         (after the new one) until `keyway master-key rotate` has re-wrapped everything"
    )]
    MasterKeyMissing { key_id: String, rows: i64 },
    #[error("project {0:?} not found")]
    ProjectNotFound(String),
    #[error("secret key {0:?} not found or already revoked")]
    SecretKeyNotFound(String),
    #[error("no platform {0:?} in the catalog")]
    UnknownPlatform(String),
    #[error("{0} is not enabled for AuthKit in this environment")]
    IntegrationDisabled(String),
    #[error("{0} connects through OAuth; use the connect modal's OAuth flow")]
    OAuthRequired(String),
    #[error("the connect form has problems: {}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    InvalidForm(Vec<(String, String)>),
    #[error("{platform} rejected these credentials (HTTP {status})")]
    CredentialsRejected { platform: String, status: u16 },
    #[error("{platform} could not be reached to check the credentials")]
    PlatformUnreachable { platform: String },
    #[error("{0}")]
    InvalidInput(String),
    /// One field of a request is wrong: the same check for the API (400 `invalid_body` naming the field)
    /// and the dashboard (shown beside the field).
    #[error("{message}")]
    InvalidField { field: String, message: String },
    #[error(transparent)]
    Account(#[from] crate::operators::AccountError),
    #[error("connection not found")]
    ConnectionNotFound,
    #[error("{0} does not connect through OAuth")]
    NotOAuth(String),
    #[error("no OAuth app is configured for {0} in this environment: set its client id and secret first")]
    OAuthAppMissing(String),
    #[error("this sign-in link has expired or was already used; start connecting again")]
    OAuthStateInvalid,
    #[error("{platform} did not grant access ({reason})")]
    OAuthDenied { platform: String, reason: String },
    #[error(
        "the sign-in answer did not come from {platform} (issuer mismatch); start connecting again"
    )]
    OAuthIssuerMismatch { platform: String },
    #[error("{platform} did not issue a token: {reason}")]
    OAuthExchangeFailed { platform: String, reason: String },
    /// The provider refused the connection's refresh (`invalid_grant`, or no refresh token left): the
    /// connection is `failed` until its user connects again. No retry can fix it.
    #[error(
        "the connection's authorization was revoked or expired at {platform} (connection state: failed); \
         have the user reconnect"
    )]
    ConnectionRevoked { platform: String },
    #[error("{platform} is not answering token requests right now; try again shortly")]
    TokenEndpointUnavailable { platform: String },
    #[error("no connection with that key in this environment")]
    ConnectionKeyNotFound,
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    EgressRefused(String),
    #[error("{platform} did not answer in time")]
    UpstreamTimeout { platform: String },
    #[error("{platform} could not be reached")]
    UpstreamUnreachable { platform: String },
    #[error("the action id is malformed: expected conn_mod_def::<11 characters>::<22 characters>")]
    InvalidActionId,
    #[error("action {0} is not in the actions catalog")]
    UnknownAction(String),
    #[error("{message}")]
    ActionMismatch { check: ActionCheck, message: String },
}

/// Which check a passthrough action id failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionCheck {
    /// The action belongs to another platform than the connection's.
    Platform,
    /// The request method is not the action's.
    Method,
    /// The request path does not fill the action's path template.
    Path,
}
