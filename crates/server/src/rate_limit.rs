//! Per-secret-key rate limits: a token bucket per key (rate per second, burst twice that); over the limit,
//! 429 with `Retry-After`. On SQLite (one node) the bucket lives in this node's memory. On Postgres it is
//! shared by every node: a node leases tokens from it in chunks and serves requests from its lease, so all
//! nodes together admit about the configured rate, and the database sees one statement per chunk, never
//! one per request. A failed lease fails open to this node's own bucket: limits protect, they do not
//! authenticate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use keyway_store::backend::Backend;
use keyway_store::rate_limits::TokenLease;
use keyway_store::Store;

/// How long leased tokens stay usable. They were taken from the shared bucket, so dropping them unused
/// never lets anyone past the limit; a node may only admit slightly less than it could have.
const LEASE_TTL: Duration = Duration::from_secs(1);
/// Longest wait for a lease; past it the request is judged by this node's own bucket.
const LEASE_TIMEOUT: Duration = Duration::from_millis(500);
/// After a failed lease, how long every key uses this node's own bucket before the database is tried again.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Buckets kept before all are forgotten: a backstop (only authenticated key ids reach the limiter).
const MAX_KEYS: usize = 100_000;

#[derive(Debug)]
pub struct RateLimiter {
    /// `None`: limiting is off.
    limit: Option<Limit>,
    /// Where the shared buckets live (Postgres); `None` keeps every bucket in this node's memory.
    shared: Option<Store>,
    keys: Mutex<HashMap<String, Arc<tokio::sync::Mutex<KeyState>>>>,
    /// Until when leasing is skipped after a failure.
    store_down_until: Mutex<Option<Instant>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limit {
    per_second: u32,
}

impl Limit {
    fn burst(self) -> u32 {
        self.per_second.saturating_mul(2)
    }

    /// Tokens leased at once: a twentieth of a second's worth (at least one), so a key costs each node at
    /// most about twenty statements a second however busy it is, and an idle node strands at most this many.
    fn chunk(self) -> u32 {
        self.per_second.div_ceil(20).max(1)
    }
}

/// One key's state on this node. The async mutex around it makes one request at a time lease for a key;
/// the others wait and then use what it leased.
#[derive(Debug, Default)]
struct KeyState {
    lease: Lease,
    /// The bucket on SQLite, and the fallback on Postgres while leasing fails.
    local: LocalBucket,
}

impl RateLimiter {
    /// `per_second == 0` disables limiting. On Postgres, buckets are shared through `store`.
    pub fn new(per_second: u32, store: &Store) -> Self {
        let shared = (store.backend() == Backend::Postgres).then(|| store.clone());
        Self::with_shared_buckets(per_second, shared)
    }

    fn with_shared_buckets(per_second: u32, shared: Option<Store>) -> Self {
        Self {
            limit: (per_second > 0).then_some(Limit { per_second }),
            shared,
            keys: Mutex::default(),
            store_down_until: Mutex::default(),
        }
    }

    /// Takes a token for `key`; when none is left, the seconds to wait (for `Retry-After`).
    pub async fn check(&self, key: &str) -> Result<(), u64> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let state = self.key_state(key);
        let mut state = state.lock().await;
        let now = Instant::now();
        let Some(store) = &self.shared else {
            return state.local.take(limit, now).map_err(retry_after);
        };
        match state.lease.take(now) {
            Take::Admit => Ok(()),
            Take::Refuse(wait) => Err(retry_after(wait)),
            Take::Renew if self.store_is_down(now) => {
                state.local.take(limit, now).map_err(retry_after)
            }
            Take::Renew => {
                let leased = store.lease_rate_limit_tokens(
                    key,
                    limit.per_second,
                    limit.burst(),
                    limit.chunk(),
                );
                let failure = match tokio::time::timeout(LEASE_TIMEOUT, leased).await {
                    Ok(Ok(lease)) => {
                        return state
                            .lease
                            .renew(lease, limit, Instant::now())
                            .map_err(retry_after)
                    }
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => "no answer within the lease timeout".to_owned(),
                };
                self.store_failed(&failure);
                state.local.take(limit, now).map_err(retry_after)
            }
        }
    }

    fn key_state(&self, key: &str) -> Arc<tokio::sync::Mutex<KeyState>> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = keys.get(key) {
            return state.clone();
        }
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        keys.entry(key.to_owned()).or_default().clone()
    }

    fn store_is_down(&self, now: Instant) -> bool {
        let down = self
            .store_down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        down.is_some_and(|until| now < until)
    }

    fn store_failed(&self, error: &dyn std::fmt::Display) {
        *self
            .store_down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + STORE_RETRY);
        tracing::warn!(%error, retry_in = ?STORE_RETRY,
            "cannot lease rate-limit tokens from the database; limiting per node until it answers");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    Admit,
    Refuse(Duration),
    /// Nothing usable on this node: ask the shared bucket.
    Renew,
}

/// Tokens this node leased from a key's shared bucket, and when the bucket will next hold a whole chunk:
/// until then, once the lease is used up, requests are refused without asking the database, so a key at
/// its limit costs one statement per chunk, not one per request (or per token).
#[derive(Debug, Default)]
struct Lease {
    tokens: u32,
    expires_at: Option<Instant>,
    next_lease_at: Option<Instant>,
}

impl Lease {
    fn take(&mut self, now: Instant) -> Take {
        if self.tokens > 0 && self.expires_at.is_some_and(|until| now < until) {
            self.tokens -= 1;
            return Take::Admit;
        }
        match self.next_lease_at {
            Some(at) if now < at => Take::Refuse(at - now),
            _ => Take::Renew,
        }
    }

    /// Applies the shared bucket's answer; the request that asked takes the first token.
    fn renew(&mut self, lease: TokenLease, limit: Limit, now: Instant) -> Result<(), Duration> {
        let wait = until_tokens(limit.chunk(), lease.milli_tokens_left, limit.per_second);
        let next_lease_at = (!wait.is_zero()).then(|| now + wait);
        if lease.granted == 0 {
            *self = Self {
                next_lease_at,
                ..Self::default()
            };
            return Err(wait);
        }
        *self = Self {
            tokens: lease.granted - 1,
            expires_at: Some(now + LEASE_TTL),
            next_lease_at,
        };
        Ok(())
    }
}

/// How long until a bucket holding `milli_tokens` thousandths of a token holds `tokens` whole ones,
/// refilling `per_second` tokens a second (which is `per_second` thousandths a millisecond).
fn until_tokens(tokens: u32, milli_tokens: u64, per_second: u32) -> Duration {
    let deficit = (u64::from(tokens) * 1000).saturating_sub(milli_tokens);
    Duration::from_millis(deficit.div_ceil(u64::from(per_second.max(1))))
}

/// `Retry-After` is whole seconds: rounded up, at least one.
fn retry_after(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// A token bucket in this node's memory; a new one is full.
#[derive(Debug, Default)]
struct LocalBucket {
    tokens: f64,
    refilled_at: Option<Instant>,
}

impl LocalBucket {
    fn take(&mut self, limit: Limit, now: Instant) -> Result<(), Duration> {
        let (rate, burst) = (f64::from(limit.per_second), f64::from(limit.burst()));
        let tokens = match self.refilled_at {
            None => burst,
            Some(at) => {
                (self.tokens + now.saturating_duration_since(at).as_secs_f64() * rate).min(burst)
            }
        };
        self.refilled_at = Some(now);
        if tokens >= 1.0 {
            self.tokens = tokens - 1.0;
            Ok(())
        } else {
            self.tokens = tokens;
            Err(Duration::from_secs_f64((1.0 - tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(granted: u32, milli_tokens_left: u64) -> TokenLease {
        TokenLease {
            granted,
            milli_tokens_left,
        }
    }

    /// A store on a private in-memory SQLite database (one connection, so one database).
    async fn memory_store(migrated: bool) -> Store {
        let settings = keyway_store::PoolSettings {
            max_connections: 1,
            ..Default::default()
        };
        let store = if migrated {
            Store::open("sqlite::memory:", &settings).await
        } else {
            Store::connect("sqlite::memory:", &settings).await
        };
        store.expect("in-memory store")
    }

    #[test]
    fn the_burst_is_twice_the_rate_and_a_chunk_a_twentieth_of_it() {
        let limit = |per_second| Limit { per_second };
        assert_eq!((limit(5).burst(), limit(5).chunk()), (10, 1));
        assert_eq!((limit(100).burst(), limit(100).chunk()), (200, 5));
        assert_eq!((limit(20).chunk(), limit(21).chunk()), (1, 2));
        assert_eq!((limit(1).chunk(), limit(40).chunk()), (1, 2));
        assert_eq!(limit(u32::MAX).burst(), u32::MAX);
    }

    const HUNDRED: Limit = Limit { per_second: 100 };

    #[test]
    fn a_lease_serves_its_tokens_until_they_are_used_or_expire() {
        let now = Instant::now();
        let mut lease = Lease::default();
        assert_eq!(lease.take(now), Take::Renew, "nothing leased yet");
        // Chunks of 5; the bucket still holds plenty.
        assert_eq!(lease.renew(granted(5, 150_000), HUNDRED, now), Ok(()));
        for _ in 0..4 {
            assert_eq!(lease.take(now), Take::Admit);
        }
        assert_eq!(lease.take(now), Take::Renew, "five granted, five used");

        assert_eq!(lease.renew(granted(3, 150_000), HUNDRED, now), Ok(()));
        assert_eq!(lease.take(now + LEASE_TTL / 2), Take::Admit);
        assert_eq!(
            lease.take(now + LEASE_TTL),
            Take::Renew,
            "one token left, but expired"
        );
    }

    #[test]
    fn a_lease_that_leaves_less_than_a_chunk_waits_for_one_before_leasing_again() {
        let now = Instant::now();
        let mut lease = Lease::default();
        // 2 tokens left in the bucket: 3 more refill in 30 ms at 100 a second.
        assert_eq!(lease.renew(granted(5, 2_000), HUNDRED, now), Ok(()));
        for _ in 0..4 {
            assert_eq!(lease.take(now), Take::Admit, "the lease is served first");
        }
        assert_eq!(
            lease.take(now + Duration::from_millis(10)),
            Take::Refuse(Duration::from_millis(20))
        );
        assert_eq!(lease.take(now + Duration::from_millis(30)), Take::Renew);
        // A partial grant: the bucket had less than a chunk.
        assert_eq!(lease.renew(granted(2, 400), HUNDRED, now), Ok(()));
        assert_eq!(lease.take(now), Take::Admit);
        assert_eq!(lease.take(now), Take::Refuse(Duration::from_millis(46)));
    }

    #[test]
    fn an_empty_shared_bucket_refuses_locally_until_a_token_has_refilled() {
        let now = Instant::now();
        let two = Limit { per_second: 2 };
        let mut lease = Lease::default();
        // Half a token left at 2 tokens a second: the other half refills in 250 ms.
        assert_eq!(
            lease.renew(granted(0, 500), two, now),
            Err(Duration::from_millis(250))
        );
        assert_eq!(
            lease.take(now + Duration::from_millis(100)),
            Take::Refuse(Duration::from_millis(150))
        );
        assert_eq!(lease.take(now + Duration::from_millis(250)), Take::Renew);
        // A grant that leaves a whole chunk behind clears what was learnt.
        assert_eq!(lease.renew(granted(1, 1_000), two, now), Ok(()));
        assert_eq!(lease.take(now), Take::Renew);
    }

    #[test]
    fn the_wait_comes_from_the_deficit_and_rounds_up_to_whole_seconds() {
        assert_eq!(until_tokens(1, 0, 1), Duration::from_secs(1));
        assert_eq!(until_tokens(1, 999, 1), Duration::from_millis(1));
        assert_eq!(until_tokens(1, 0, 3), Duration::from_millis(334));
        assert_eq!(until_tokens(1, 0, 4000), Duration::from_millis(1));
        assert_eq!(until_tokens(5, 2_000, 100), Duration::from_millis(30));
        assert_eq!(until_tokens(1, 5_000, 10), Duration::ZERO);
        assert_eq!(retry_after(Duration::ZERO), 1);
        assert_eq!(retry_after(Duration::from_millis(1)), 1);
        assert_eq!(retry_after(Duration::from_secs(1)), 1);
        assert_eq!(retry_after(Duration::from_millis(1001)), 2);
    }

    #[tokio::test]
    async fn in_memory_buckets_allow_the_burst_then_refuse_with_a_wait() {
        let limiter = RateLimiter::with_shared_buckets(5, None);
        for _ in 0..10 {
            assert_eq!(limiter.check("k").await, Ok(()));
        }
        assert_eq!(limiter.check("k").await, Err(1));
        assert_eq!(limiter.check("other").await, Ok(()), "buckets are per key");
        let off = RateLimiter::with_shared_buckets(0, None);
        for _ in 0..100 {
            assert_eq!(off.check("k").await, Ok(()));
        }
    }

    #[tokio::test]
    async fn a_shared_bucket_is_leased_in_chunks_and_a_failed_lease_fails_open_to_this_node() {
        let store = memory_store(true).await;
        // 100 a second: chunks of 5.
        let limiter = RateLimiter::with_shared_buckets(100, Some(store.clone()));
        assert_eq!(limiter.check("k").await, Ok(()), "leases 5, uses 1");
        store.close().await;
        for _ in 0..4 {
            assert_eq!(limiter.check("k").await, Ok(()));
        }
        assert!(
            !limiter.store_is_down(Instant::now()),
            "the leased tokens were served without the database"
        );
        // The lease is used up and the database is gone: this node's own bucket decides.
        assert_eq!(limiter.check("k").await, Ok(()));
        assert!(limiter.store_is_down(Instant::now()));
    }

    #[tokio::test]
    async fn while_leasing_fails_this_nodes_own_bucket_still_limits() {
        // No `rate_limits` table: every lease fails.
        let limiter = RateLimiter::with_shared_buckets(5, Some(memory_store(false).await));
        for _ in 0..10 {
            assert_eq!(limiter.check("k").await, Ok(()));
        }
        assert_eq!(limiter.check("k").await, Err(1));
    }

    #[tokio::test]
    async fn nodes_sharing_a_bucket_admit_no_more_than_it_holds() {
        let store = memory_store(true).await;
        let nodes = [
            RateLimiter::with_shared_buckets(40, Some(store.clone())),
            RateLimiter::with_shared_buckets(40, Some(store.clone())),
        ];
        let started = Instant::now();
        let mut admitted = 0_u32;
        for i in 0..400 {
            if nodes[i % 2].check("k").await.is_ok() {
                admitted += 1;
            }
        }
        let limit = Limit { per_second: 40 };
        let refill = started.elapsed().as_secs_f64() * 40.0;
        // At most the burst plus the refill; at least the burst less what may be left unused.
        assert!(
            f64::from(admitted) <= 80.0 + refill.ceil(),
            "{admitted} admitted"
        );
        // Less than a chunk may stay in the bucket, and each node may hold a chunk unused.
        assert!(
            admitted >= limit.burst() - 3 * limit.chunk(),
            "{admitted} admitted"
        );
        assert!(nodes[0].check("other").await.is_ok(), "keys are separate");
        assert!(!nodes[0].store_is_down(Instant::now()));
    }
}
