//! The issuer's signing keys, held in memory and refreshed by [`RefreshPolicy`], by the
//! verifier's clock.
//!
//! - A request whose `kid` is in the current key set never waits on the network: once the set is
//!   older than the TTL, one background task refreshes it while the current keys keep serving.
//! - Every fetch goes through one lock, so concurrent misses cause one fetch: callers that waited
//!   for it share its result, a failure included.
//! - An unknown `kid` refetches at once unless another unknown `kid` caused a refetch within the
//!   cooldown; start-up and scheduled fetches do not start it, so a key published just after one
//!   is accepted on its first request. Within the cooldown an unknown `kid` fetches nothing, but
//!   waits for a fetch already under way. A failed fetch never drops good keys.
//! - Failures back off, counted from the end of the failed attempt, so no request waits for more
//!   than one fetch; an unknown `kid` is bounded by the cooldown alone. The last good keys serve
//!   until `ttl + max_stale`, then requests get 503.

use std::{
    sync::{
        Arc, Mutex, MutexGuard, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use jsonwebtoken::Algorithm;
use tracing::Instrument;

use super::{
    key_set::{KeySet, Lookup, VerifyingKey},
    provider_url::ProviderUrl,
    refresh::RefreshPolicy,
    source::{FetchError, JwksSource},
};
use crate::{
    clock::{SharedClock, Timestamp},
    observer::{AuthObserver, FetchOutcome},
    rejection::{AuthError, TokenRejection, echoed},
    token_cache::TokenCache,
};

/// What the store knows about its fetches.
#[derive(Debug, Default)]
struct FetchStatus {
    /// Fetch attempts finished so far, failed ones included.
    attempts: u64,
    last_unknown_kid_refetch: Option<Timestamp>,
    last_success: Option<Timestamp>,
    consecutive_failures: u32,
    retry_at: Option<Timestamp>,
    last_error: Option<FetchError>,
    generation: u64,
}

/// The state of the key set, for `/readyz`.
#[derive(Debug, Clone)]
pub struct KeyHealth {
    /// Whether usable keys are cached.
    pub ready: bool,
    /// Age of the cached key set.
    pub age: Option<Duration>,
    /// Key ids of the cached key set.
    pub key_ids: Vec<String>,
    /// When the last fetch succeeded.
    pub last_success: Option<Timestamp>,
    /// The error of the last fetch, if it failed.
    pub last_error: Option<FetchError>,
}

/// What made the store fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FetchCause<'a> {
    /// Start-up, or no key set cached.
    NoKeys,
    /// The cached key set is older than the TTL.
    Scheduled,
    /// A token named a `kid` (with an `alg`) the cached key set lacks.
    UnknownKid {
        /// The token's `kid`.
        kid: Option<&'a str>,
        /// The token's `alg`.
        alg: Algorithm,
    },
}

/// Signing keys of one issuer.
pub struct KeyStore {
    source: JwksSource,
    algorithms: Vec<Algorithm>,
    policy: RefreshPolicy,
    keys: RwLock<Option<Arc<KeySet>>>,
    fetch_lock: tokio::sync::Mutex<()>,
    status: Mutex<FetchStatus>,
    refreshing: AtomicBool,
    token_cache: Option<Arc<TokenCache>>,
    observer: Arc<dyn AuthObserver>,
    clock: SharedClock,
}

impl KeyStore {
    /// A store that fetches from `source` the keys fitting `algorithms`, as `policy` says, by
    /// `clock`; after each fetch, tokens in `token_cache` signed by keys no longer published are
    /// forgotten.
    pub(crate) fn new(
        source: JwksSource,
        algorithms: Vec<Algorithm>,
        policy: RefreshPolicy,
        token_cache: Option<Arc<TokenCache>>,
        observer: Arc<dyn AuthObserver>,
        clock: SharedClock,
    ) -> Self {
        KeyStore {
            source,
            algorithms,
            policy,
            keys: RwLock::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
            status: Mutex::new(FetchStatus::default()),
            refreshing: AtomicBool::new(false),
            token_cache,
            observer,
            clock,
        }
    }

    /// The key set, unless none was fetched or it is older than `ttl + max_stale`.
    fn cached(&self) -> Option<Arc<KeySet>> {
        let keys = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()?;
        (self.age(&keys) < self.policy.max_age()).then_some(keys)
    }

    fn age(&self, keys: &KeySet) -> Duration {
        self.clock.now().saturating_since(keys.fetched_at)
    }

    /// Fetches the keys unless they are cached; failures are logged and retried later.
    pub async fn warm_up(&self) {
        if self.refresh(None, FetchCause::NoKeys).await.is_ok() {
            tracing::info!("signing keys fetched");
        }
    }

    /// The key that verifies a token with this `kid` and `alg`.
    pub(crate) async fn key_for(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, AuthError> {
        let set = self.current().await?;
        if let Some(key) = fitting_key(&set, kid, alg)? {
            return Ok(key);
        }
        let unknown = || AuthError::from(TokenRejection::UnknownKid { kid: echoed(kid.unwrap_or("(none)")) });
        let fresh = if self.policy.may_refetch_for_unknown_kid(self.since_unknown_kid_refetch()) {
            self.refresh(Some(set.generation), FetchCause::UnknownKid { kid, alg }).await.ok()
        } else {
            self.fetched_since(set.generation).await
        };
        let fresh = fresh.ok_or_else(unknown)?;
        fitting_key(&fresh, kid, alg)?.ok_or_else(unknown)
    }

    /// The issuer whose keys these are.
    pub fn issuer(&self) -> &ProviderUrl {
        self.source.issuer()
    }

    /// Where the keys come from; also where the issuer's other metadata is found.
    pub fn source(&self) -> &JwksSource {
        &self.source
    }

    /// When fetches are retried.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.policy
    }

    /// The state of the key set.
    pub fn health(&self) -> KeyHealth {
        let set = self.cached();
        let status = self.status();
        KeyHealth {
            ready: set.is_some(),
            age: set.as_ref().map(|set| self.age(set)),
            key_ids: set.map(|set| set.key_ids()).unwrap_or_default(),
            last_success: status.last_success,
            last_error: status.last_error.clone(),
        }
    }

    /// The cached key set, refreshed in the background when due; fetched now when none is cached.
    async fn current(self: &Arc<Self>) -> Result<Arc<KeySet>, AuthError> {
        match self.cached() {
            Some(set) => {
                if self.policy.is_due(self.age(&set)) {
                    self.refresh_in_background(set.generation);
                }
                Ok(set)
            }
            None => self
                .refresh(None, FetchCause::NoKeys)
                .await
                .map_err(|retry_after| AuthError::KeysUnavailable { retry_after }),
        }
    }

    fn refresh_in_background(self: &Arc<Self>, seen: u64) {
        if self.retry_wait(self.clock.now()).is_some() || self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = Arc::clone(self);
        tokio::spawn(async move {
            let _ = store.refresh(Some(seen), FetchCause::Scheduled).await;
            store.refreshing.store(false, Ordering::Release);
        });
    }

    /// A key set newer than `generation`, waiting for a fetch under way; fetches nothing itself.
    async fn fetched_since(&self, generation: u64) -> Option<Arc<KeySet>> {
        let _after_a_fetch_under_way = self.fetch_lock.lock().await;
        self.cached().filter(|set| set.generation != generation)
    }

    /// Fetches a new key set unless the cached one differs from `seen` (another caller already
    /// fetched it). On failure, answers how long until the next attempt is allowed.
    async fn refresh(&self, seen: Option<u64>, cause: FetchCause<'_>) -> Result<Arc<KeySet>, Duration> {
        let attempts_before = self.status().attempts;
        let _one_fetch_at_a_time = self.fetch_lock.lock().await;
        if let Some(current) = self.cached()
            && Some(current.generation) != seen
        {
            return Ok(current);
        }
        let started = self.clock.now();
        // A fetch failed while this caller waited for the lock: it shares that failure rather than
        // queueing a fetch of its own behind it.
        if self.status().attempts != attempts_before {
            return Err(self.retry_wait(started).unwrap_or(self.policy.retry_initial));
        }
        // An unknown kid is bounded by its cooldown instead: a key published during an outage is
        // then fetched as soon as the cooldown allows, not when the backoff has run out.
        let unknown_kid = matches!(cause, FetchCause::UnknownKid { .. });
        if !unknown_kid && let Some(wait) = self.retry_wait(started) {
            return Err(wait);
        }
        let generation = {
            let mut status = self.status();
            if unknown_kid {
                // Checked again under the fetch lock: another unknown kid may have fetched meanwhile.
                let since = status.last_unknown_kid_refetch.map(|at| started.saturating_since(at));
                if !self.policy.may_refetch_for_unknown_kid(since) {
                    return Err(self.policy.cooldown);
                }
                status.last_unknown_kid_refetch = Some(started);
                self.observer.unknown_kid_refetch(self.source.issuer().as_str());
            }
            status.generation + 1
        };
        let span = tracing::debug_span!("fetch_keys", issuer = self.source.issuer().as_str(), ?cause);
        let fetch = tokio::time::timeout(self.policy.fetch_timeout, self.fetch(cause, generation)).instrument(span);
        let outcome = match fetch.await {
            Ok(outcome) => outcome,
            Err(_) => Err(FetchError::Timeout(self.policy.fetch_timeout)),
        };
        let fetched = if outcome.is_ok() { FetchOutcome::Success } else { FetchOutcome::Failure };
        self.observer.key_fetch(self.source.issuer().as_str(), fetched);
        // Counted when the attempt ends: a caller that queued while it ran sees the change.
        self.status().attempts += 1;
        match outcome {
            Ok(set) => {
                let set = Arc::new(set);
                *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&set));
                if let Some(tokens) = &self.token_cache {
                    tokens.retain_keys(self.source.issuer().as_str(), set.key_ids().into_iter().collect());
                }
                let mut status = self.status();
                status.generation = generation;
                status.last_success = Some(self.clock.now());
                status.consecutive_failures = 0;
                status.retry_at = None;
                status.last_error = None;
                tracing::debug!(keys = ?set.key_ids(), skipped = set.skipped, "key set fetched");
                Ok(set)
            }
            Err(error) => {
                let mut status = self.status();
                status.consecutive_failures += 1;
                let delay = self.policy.retry_delay(status.consecutive_failures);
                // Counted from the end of the attempt: a fetch that took its whole timeout must not
                // let the requests queued behind it start another one at once.
                status.retry_at = Some(self.clock.now().plus(delay));
                tracing::warn!(
                    error = %error,
                    ?cause,
                    failures = status.consecutive_failures,
                    retry_in = ?delay,
                    serving_cached_keys = seen.is_some(),
                    "could not fetch the signing keys"
                );
                status.last_error = Some(error);
                Err(delay)
            }
        }
    }

    /// One fetch of the key set. When a `kid` is missing from the set found where the keys were,
    /// the issuer's metadata is read again: if it moved the key set, the set at its new location
    /// counts — within this one fetch, so under the same cooldown and lock.
    async fn fetch(&self, cause: FetchCause<'_>, generation: u64) -> Result<KeySet, FetchError> {
        let body = self.source.fetch().await?;
        let set = KeySet::fetched(&body, &self.algorithms, generation, self.clock.now())?;
        let FetchCause::UnknownKid { kid, alg } = cause else {
            return Ok(set);
        };
        if !matches!(set.find(kid, alg), Lookup::NotFound) {
            return Ok(set);
        }
        match self.source.fetch_if_moved().await {
            Ok(Some(body)) => Ok(KeySet::fetched(&body, &self.algorithms, generation, self.clock.now())?),
            Ok(None) => Ok(set),
            Err(error) => {
                tracing::warn!(%error, "could not read the issuer's metadata again for an unknown kid");
                Ok(set)
            }
        }
    }

    /// How long until a fetch may be attempted again after failures; `None` when it may now.
    fn retry_wait(&self, now: Timestamp) -> Option<Duration> {
        self.status().retry_at.filter(|at| *at > now).map(|at| at.saturating_since(now))
    }

    fn since_unknown_kid_refetch(&self) -> Option<Duration> {
        let now = self.clock.now();
        self.status().last_unknown_kid_refetch.map(|at| now.saturating_since(at))
    }

    fn status(&self) -> MutexGuard<'_, FetchStatus> {
        self.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The key of `set` for `kid` and `alg`; `None` when the set has none.
fn fitting_key(set: &KeySet, kid: Option<&str>, alg: Algorithm) -> Result<Option<Arc<VerifyingKey>>, AuthError> {
    match set.find(kid, alg) {
        Lookup::Found(key) => Ok(Some(key)),
        Lookup::NotFound => Ok(None),
        Lookup::Ambiguous(keys) => Err(TokenRejection::MissingKid { keys }.into()),
    }
}
