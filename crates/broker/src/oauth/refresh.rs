//! Single-flight refresh. Inside a node, callers of one connection queue on a per-connection mutex; across
//! nodes, a lease row in the store (with a deadline, so a dead holder blocks nobody for long) lets one node
//! at a time call the token endpoint. Every waiter re-reads the connection after it gets its turn and uses
//! what the winner stored. The new tokens are persisted (with the lease released) in one transaction
//! before anyone uses them; a reply without a refresh token keeps the old one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keyway_catalog::auth::AuthKind;
use keyway_core::connection::{Connection, ConnectionState};
use keyway_core::timestamp::Timestamp;
use keyway_store::oauth::RefreshOutcome;
use rand::Rng;
use secrecy::ExposeSecret;

use crate::connect::Owner;
use crate::connections::{credentials_id, CREDENTIALS_PURPOSE};
use crate::credentials::{Credentials, ACCESS_TOKEN, REFRESH_TOKEN};
use crate::error::BrokerError;
use crate::oauth::token::{request_token, Grant, TokenError};
use crate::Broker;

/// An access token expiring within this many seconds is refreshed before use.
pub const USE_MARGIN_SECONDS: i64 = 120;
/// How long a node may hold a connection's refresh lease.
pub const LEASE_SECONDS: i64 = 30;
/// How long a caller waits for another node's refresh before giving up.
const WAIT_FOR_PEER: Duration = Duration::from_secs(LEASE_SECONDS as u64 + 5);

/// When to refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Only if the token expires within this many seconds.
    ExpiringWithin(i64),
    /// Unless the token changed since `seen` (someone else refreshed meanwhile): after an upstream 401.
    Stale { seen: Option<Timestamp> },
}

impl Broker {
    /// Reads and opens a connection's credentials from the store.
    pub async fn load_credentials(
        &self,
        connection: &Connection,
    ) -> Result<Credentials, BrokerError> {
        let id = credentials_id(&connection.id);
        let row = self
            .store
            .sealed(&id)
            .await?
            .ok_or(BrokerError::ConnectionNotFound)?;
        if row.scope != connection.project_id.as_str() || row.purpose != CREDENTIALS_PURPOSE {
            return Err(BrokerError::ConnectionNotFound);
        }
        let opened = self.sealer.open(&row)?;
        Credentials::from_json(opened.expose_secret()).ok_or_else(|| {
            BrokerError::Store(keyway_store::error::StoreError::Corrupt(
                "credentials are not JSON".into(),
            ))
        })
    }

    /// Credentials ready to use: an OAuth token expiring within the margin is refreshed first.
    pub async fn usable_credentials(
        &self,
        connection: &Connection,
    ) -> Result<Credentials, BrokerError> {
        if connection.state == ConnectionState::Failed {
            return Err(BrokerError::ConnectionRevoked {
                platform: connection.platform.clone(),
            });
        }
        if !expiring(connection, USE_MARGIN_SECONDS) {
            return self.load_credentials(connection).await;
        }
        self.refresh(connection, Need::ExpiringWithin(USE_MARGIN_SECONDS))
            .await
    }

    /// Refreshes `connection` if `need` says so, sharing one token request among all concurrent callers
    /// on every node. Returns the credentials to use.
    pub async fn refresh(
        &self,
        connection: &Connection,
        need: Need,
    ) -> Result<Credentials, BrokerError> {
        let lock = self.local_refresh_lock(&connection.id);
        let _turn = lock.lock().await;
        let deadline = Instant::now() + WAIT_FOR_PEER;
        loop {
            let current = self.reload(connection).await?;
            if current.state == ConnectionState::Failed {
                return Err(BrokerError::ConnectionRevoked {
                    platform: current.platform,
                });
            }
            if !needed(&current, need) {
                return self.load_credentials(&current).await;
            }
            let now = Timestamp::now();
            if let Need::ExpiringWithin(_) = need {
                // Backing off after failures: keep using a token that still works instead of retrying.
                let (_, next_at) = self.store.refresh_backoff(&current.id).await?;
                let still_valid = current.oauth_expires_at.is_some_and(|t| t > now);
                if still_valid && next_at.is_some_and(|t| t > now) {
                    return self.load_credentials(&current).await;
                }
            }
            if self
                .store
                .acquire_refresh_lease(
                    &current.id,
                    &self.node_id,
                    now,
                    now.plus_seconds(LEASE_SECONDS),
                )
                .await?
            {
                // Re-read under the lease: a peer may have finished just before we got it.
                let current = self.reload(connection).await?;
                if !needed(&current, need) || current.state == ConnectionState::Failed {
                    self.store
                        .release_refresh_lease(&current.id, &self.node_id)
                        .await?;
                    if current.state == ConnectionState::Failed {
                        return Err(BrokerError::ConnectionRevoked {
                            platform: current.platform,
                        });
                    }
                    return self.load_credentials(&current).await;
                }
                let result = self.refresh_holding_lease(&current).await;
                self.connection_changed(&current.id).await;
                if result.is_err() {
                    // Harmless if `finish_refresh` already released it.
                    let _ = self
                        .store
                        .release_refresh_lease(&current.id, &self.node_id)
                        .await;
                }
                return result;
            }
            if Instant::now() > deadline {
                return Err(BrokerError::TokenEndpointUnavailable {
                    platform: current.platform,
                });
            }
            let pause = rand::thread_rng().gen_range(20..60);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    async fn refresh_holding_lease(
        &self,
        current: &Connection,
    ) -> Result<Credentials, BrokerError> {
        self.forget_cached_connection(&current.id);
        let platform = self.platform(&current.platform)?;
        let oauth2 = platform
            .oauth2()
            .ok_or_else(|| BrokerError::NotOAuth(platform.name().to_owned()))?;
        let mut credentials = self.load_credentials(current).await?;
        let owner = Owner {
            project_id: current.project_id.clone(),
            environment: current.environment,
            identity: current.identity.clone(),
            identity_type: current.identity_type,
        };
        let result = match platform.auth_kind() {
            AuthKind::OAuth2ClientCredentials => {
                let client = self
                    .client_credentials_client(&owner, platform, &current.fields, &credentials)
                    .await?;
                request_token(&self.http, oauth2, &client, Grant::ClientCredentials).await
            }
            _ => match credentials
                .get(REFRESH_TOKEN)
                .filter(|_| oauth2.refresh_supported)
            {
                None => Err(TokenError::Rejected {
                    status: 0,
                    error: "no refresh token".into(),
                }),
                Some(refresh_token) => {
                    let client = self
                        .oauth_client(&current.project_id, current.environment, platform)
                        .await?;
                    let refresh_token = refresh_token.to_owned();
                    request_token(
                        &self.http,
                        oauth2,
                        &client,
                        Grant::Refresh {
                            refresh_token: &refresh_token,
                        },
                    )
                    .await
                }
            },
        };
        let now = Timestamp::now();
        let (failures, _) = self.store.refresh_backoff(&current.id).await?;
        match result {
            Ok(tokens) => {
                credentials.set(ACCESS_TOKEN, tokens.access_token);
                if let Some(rotated) = tokens.refresh_token {
                    credentials.set(REFRESH_TOKEN, rotated);
                }
                let sealed = self.sealer.seal(
                    &credentials_id(&current.id),
                    current.project_id.as_str(),
                    CREDENTIALS_PURPOSE,
                    &credentials.to_json(),
                );
                let outcome = RefreshOutcome {
                    state: ConnectionState::Operational.as_str(),
                    credentials: Some(sealed),
                    expires_at: tokens.expires_in.map(|s| now.plus_seconds(s)),
                    scopes: tokens.scope,
                    failures: 0,
                    next_attempt_at: None,
                    error: None,
                };
                if !self
                    .store
                    .finish_refresh(&current.id, &self.node_id, &outcome, now)
                    .await?
                {
                    tracing::error!(connection = %current.id, "refresh lease lost before the new tokens were stored");
                }
                tracing::info!(connection = %current.id, platform = %current.platform, "refreshed access token");
                Ok(credentials)
            }
            Err(TokenError::Rejected { status, error }) => {
                tracing::warn!(connection = %current.id, platform = %current.platform, status, %error,
                    "refresh refused: connection needs to be reconnected");
                let outcome = RefreshOutcome {
                    state: ConnectionState::Failed.as_str(),
                    credentials: None,
                    expires_at: None,
                    scopes: None,
                    failures: failures + 1,
                    next_attempt_at: None,
                    error: Some(outcome_error(&format!("HTTP {status}: {error}"))),
                };
                self.store
                    .finish_refresh(&current.id, &self.node_id, &outcome, now)
                    .await?;
                Err(BrokerError::ConnectionRevoked {
                    platform: current.platform.clone(),
                })
            }
            Err(TokenError::Unavailable(why)) => {
                let next = now.plus_seconds(backoff_seconds(failures + 1));
                tracing::warn!(connection = %current.id, platform = %current.platform, %why,
                    retry_at = %next.to_rfc3339(), "refresh failed; will retry");
                let outcome = RefreshOutcome {
                    state: ConnectionState::Degraded.as_str(),
                    credentials: None,
                    expires_at: None,
                    scopes: None,
                    failures: failures + 1,
                    next_attempt_at: Some(next),
                    error: Some(outcome_error(&why)),
                };
                self.store
                    .finish_refresh(&current.id, &self.node_id, &outcome, now)
                    .await?;
                if current.oauth_expires_at.is_some_and(|t| t > now) {
                    // The old token still works for a while: use it.
                    Ok(credentials)
                } else {
                    Err(BrokerError::TokenEndpointUnavailable {
                        platform: current.platform.clone(),
                    })
                }
            }
        }
    }

    async fn reload(&self, connection: &Connection) -> Result<Connection, BrokerError> {
        self.store
            .connection(
                &connection.project_id,
                connection.environment,
                &connection.id,
            )
            .await?
            .ok_or(BrokerError::ConnectionNotFound)
    }

    fn local_refresh_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        // Drop locks nobody holds any more, so the map stays as small as the set of in-flight refreshes.
        if locks.len() > 1024 {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(id.to_owned()).or_default().clone()
    }
}

fn expiring(c: &Connection, within: i64) -> bool {
    c.oauth_expires_at
        .is_some_and(|t| t <= Timestamp::now().plus_seconds(within))
}

fn needed(c: &Connection, need: Need) -> bool {
    match need {
        Need::ExpiringWithin(s) => expiring(c, s),
        Need::Stale { seen } => c.oauth_expires_at == seen,
    }
}

/// 30 s, 60 s, 120 s … capped at one hour, with ±20 % jitter.
pub fn backoff_seconds(failures: i64) -> i64 {
    let base = 30i64
        .saturating_mul(1 << failures.clamp(1, 7).saturating_sub(1))
        .min(3600);
    let jitter = rand::thread_rng().gen_range(-base / 5..=base / 5);
    base + jitter
}

/// What the connection keeps of a failed refresh: the provider's error as logged (never a token), bounded.
fn outcome_error(text: &str) -> String {
    text.chars().take(300).collect()
}
