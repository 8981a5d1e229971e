//! Single-flight refresh. Inside a node, callers of one connection queue on a per-connection mutex; across
//! nodes, a lease row in the store (with a deadline, so a dead holder blocks nobody for long) lets one node
//! at a time call the token endpoint. The new tokens are persisted (with the lease released) in one
//! transaction before anyone uses them; a reply without a refresh token keeps the old one.
//! One refresh per token generation: a caller that finds, once it has its turn, another token than the one
//! it saw (`oauth_issued_at` changed) uses that token rather than judging it afresh. And no token is due
//! before half its lifetime has passed ([`refresh_margin`]), so even a token living less than the margin
//! is not refreshed again at once.

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

/// An access token is refreshed before use when it expires within this many seconds (or within half its
/// lifetime, if that is shorter).
pub const USE_MARGIN_SECONDS: i64 = 120;
/// How long a node may hold a connection's refresh lease.
pub const LEASE_SECONDS: i64 = 30;
/// How long a caller waits for another node's refresh before giving up.
const WAIT_FOR_PEER: Duration = Duration::from_secs(LEASE_SECONDS as u64 + 5);

/// When to refresh. `seen` is the token generation (`oauth_issued_at`) the caller looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The token is due: it expires within `within_seconds` capped at half its lifetime ([`due`]). A
    /// token stored since `seen` (someone refreshed meanwhile) is used as it is unless it has expired.
    Due {
        seen: Option<Timestamp>,
        within_seconds: i64,
    },
    /// After an upstream 401: unless the token changed since `seen` (someone else refreshed meanwhile).
    Stale { seen: Option<Timestamp> },
}

impl Need {
    /// Before using `connection`'s token (the margin of [`USE_MARGIN_SECONDS`]).
    pub fn on_use(connection: &Connection) -> Self {
        Self::Due {
            seen: connection.oauth_issued_at,
            within_seconds: USE_MARGIN_SECONDS,
        }
    }

    /// After the platform refused `connection`'s token.
    pub fn after_unauthorized(connection: &Connection) -> Self {
        Self::Stale {
            seen: connection.oauth_issued_at,
        }
    }
}

/// How long before its expiry a token is refreshed, in milliseconds: `cap_seconds`, but never more than
/// half the token's lifetime, so a token is never due as soon as it is issued, however short-lived. An
/// unknown lifetime (a connection from before lifetimes were recorded) gets the cap.
pub fn refresh_margin(lifetime_ms: Option<i64>, cap_seconds: i64) -> i64 {
    let cap = cap_seconds.saturating_mul(1000);
    match lifetime_ms {
        Some(lifetime) => cap.min(lifetime.max(0) / 2),
        None => cap,
    }
}

/// Whether `c`'s access token is due for a refresh at `now`: it expires within [`refresh_margin`]. A token
/// without a known expiry never is (it is refreshed when the platform refuses it).
pub fn due(c: &Connection, within_seconds: i64, now: Timestamp) -> bool {
    let Some(expires) = c.oauth_expires_at else {
        return false;
    };
    let lifetime = c
        .oauth_issued_at
        .map(|issued| expires.unix_millis() - issued.unix_millis());
    expires.unix_millis() - now.unix_millis() <= refresh_margin(lifetime, within_seconds)
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
        if !due(connection, USE_MARGIN_SECONDS, Timestamp::now()) {
            return self.load_credentials(connection).await;
        }
        self.refresh(connection, Need::on_use(connection)).await
    }

    /// Refreshes `connection` if `need` says so, sharing one token request among all concurrent callers
    /// on every node: each re-reads the connection when it gets its turn, and one that finds a token
    /// stored since it looked uses it. Returns the credentials to use.
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
            let now = Timestamp::now();
            if !needed(&current, need, now) {
                return self.load_credentials(&current).await;
            }
            if let Need::Due { .. } = need {
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
                if !needed(&current, need, Timestamp::now())
                    || current.state == ConnectionState::Failed
                {
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

fn needed(c: &Connection, need: Need, now: Timestamp) -> bool {
    match need {
        // Another caller's refresh produced this token: use it, unless it is already dead.
        Need::Due { seen, .. } if c.oauth_issued_at != seen => {
            c.oauth_expires_at.is_some_and(|t| t <= now)
        }
        Need::Due { within_seconds, .. } => due(c, within_seconds, now),
        Need::Stale { seen } => c.oauth_issued_at == seen,
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use keyway_core::connection::ConnectionKey;
    use keyway_core::environment::Environment;
    use keyway_core::id::ProjectId;
    use keyway_core::identity::{Identity, IdentityType};

    use super::*;

    const MINUTE: i64 = 60_000;

    /// A connection whose token was issued at `issued` and expires at `expires` (ms; none: unknown).
    fn token(issued: Option<i64>, expires: Option<i64>) -> Connection {
        Connection {
            id: "conn_x".into(),
            key: ConnectionKey::from_trusted("test::oauthco::default::x|u".into()),
            project_id: ProjectId::from_trusted("prj_x".into()),
            environment: Environment::Test,
            platform: "oauthco".into(),
            platform_version: "v1".into(),
            identity: Identity::parse("u").expect("identity"),
            identity_type: IdentityType::User,
            name: None,
            tags: Vec::new(),
            state: ConnectionState::Operational,
            active: true,
            version: 1,
            fields: BTreeMap::new(),
            oauth_expires_at: expires.map(Timestamp::from_unix_millis),
            oauth_issued_at: issued.map(Timestamp::from_unix_millis),
            oauth_scopes: None,
            created_at: Timestamp::from_unix_millis(0),
            updated_at: Timestamp::from_unix_millis(0),
        }
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn the_margin_is_two_minutes_or_half_the_lifetime_whichever_is_shorter() {
        let cases = [
            (1_000, 500),
            (2_000, 1_000),
            (10_000, 5_000),
            (MINUTE, 30_000),
            (4 * MINUTE, 2 * MINUTE),
            (5 * MINUTE, 2 * MINUTE),
            (60 * MINUTE, 2 * MINUTE),
            (24 * 60 * MINUTE, 2 * MINUTE),
        ];
        for (lifetime, margin) in cases {
            assert_eq!(
                refresh_margin(Some(lifetime), USE_MARGIN_SECONDS),
                margin,
                "{lifetime} ms"
            );
        }
        // Unknown lifetime: the cap, as before lifetimes were recorded. Nonsense lifetimes: no margin.
        assert_eq!(refresh_margin(None, USE_MARGIN_SECONDS), 120_000);
        assert_eq!(refresh_margin(Some(0), USE_MARGIN_SECONDS), 0);
        assert_eq!(refresh_margin(Some(-5_000), USE_MARGIN_SECONDS), 0);
        // The sweep's horizon is a cap like any other.
        assert_eq!(refresh_margin(Some(60 * MINUTE), 600), 10 * MINUTE);
        assert_eq!(refresh_margin(Some(5 * MINUTE), 600), 150_000);
    }

    #[test]
    fn no_token_is_due_before_half_its_lifetime_however_short_or_long() {
        let lifetimes = [
            1_000,
            5_000,
            30_000,
            MINUTE,
            119_000,
            4 * MINUTE,
            60 * MINUTE,
            24 * 60 * MINUTE,
        ];
        let issued = 1_700_000_000_000;
        for lifetime in lifetimes {
            let c = token(Some(issued), Some(issued + lifetime));
            let margin = refresh_margin(Some(lifetime), USE_MARGIN_SECONDS);
            for within in [USE_MARGIN_SECONDS, 600] {
                assert!(!due(&c, within, at(issued)), "{lifetime}: fresh");
                assert!(
                    !due(&c, within, at(issued + lifetime / 2 - 1)),
                    "{lifetime}: before its half-life"
                );
            }
            assert!(
                !due(&c, USE_MARGIN_SECONDS, at(issued + lifetime - margin - 1)),
                "{lifetime}"
            );
            assert!(
                due(&c, USE_MARGIN_SECONDS, at(issued + lifetime - margin)),
                "{lifetime}: due at its margin"
            );
            assert!(
                due(&c, USE_MARGIN_SECONDS, at(issued + lifetime + 1)),
                "{lifetime}: expired"
            );
        }
        // No expiry: never due (refreshed when the platform refuses it). Unknown lifetime: the cap.
        assert!(!due(
            &token(Some(issued), None),
            120,
            at(issued + 1_000 * MINUTE)
        ));
        let legacy = token(None, Some(issued + MINUTE));
        assert!(due(&legacy, USE_MARGIN_SECONDS, at(issued)));
    }

    #[test]
    fn a_caller_uses_a_token_stored_since_it_looked_unless_it_has_expired() {
        let issued = 1_700_000_000_000;
        let seen = Some(at(issued));
        // The token it saw is due: refresh.
        let same = token(Some(issued), Some(issued + MINUTE));
        let on_use = Need::on_use(&same);
        assert!(needed(&same, on_use, at(issued + 40_000)));
        // Someone refreshed meanwhile, with another one-minute token: use it, even though it would be due
        // by the margin rule at this instant had it been the token the caller saw.
        let newer = token(Some(issued + 35_000), Some(issued + 95_000));
        assert!(due(&newer, USE_MARGIN_SECONDS, at(issued + 70_000)));
        assert!(!needed(&newer, on_use, at(issued + 70_000)));
        // ... unless it has expired too.
        assert!(needed(&newer, on_use, at(issued + 95_000)));
        // Newer without an expiry: used.
        let unknown = token(Some(issued + 35_000), None);
        assert!(!needed(&unknown, on_use, at(issued + 70_000)));
        // After a 401: only if nobody refreshed since.
        let stale = Need::Stale { seen };
        assert!(needed(&same, stale, at(issued)));
        assert!(!needed(&newer, stale, at(issued)));
        assert!(!needed(&unknown, stale, at(issued)));
    }
}
