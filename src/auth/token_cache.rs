//! Verified tokens, remembered so a client that reuses its token costs one hash lookup instead of
//! an RSA verification.
//!
//! - The key is the SHA-256 of the whole token, never a prefix; the value the verified claims.
//! - An entry lives until the token's `exp` (plus the leeway) or `max_ttl`, whichever is first;
//!   the capacity is bounded.
//! - `exp` and `nbf` are checked again on every hit; failures are never cached.
//! - When the key set is refreshed, entries whose signing key disappeared are dropped.
//!
//! The trade-off: a token stays accepted until its entry ends even if its signing key was
//! removed in between and no refresh has happened yet (at most `max_ttl`).

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use aws_lc_rs::digest::{SHA256, digest};
use moka::{Expiry, sync::Cache};

use super::claims::Claims;

/// A verified token's claims, with what is needed to expire and re-check it.
#[derive(Debug)]
pub struct VerifiedToken {
    /// The claims, shared with every request presenting the same token.
    pub claims: Arc<Claims>,
    /// The position of its issuer among the verifier's trusted issuers.
    pub issuer: usize,
    /// The `kid` of the key that verified it.
    pub kid: Option<String>,
    lifetime: Duration,
}

impl VerifiedToken {
    /// A token of the issuer at `issuer` verified now, remembered for at most `lifetime`.
    pub fn new(claims: Arc<Claims>, issuer: usize, kid: Option<String>, lifetime: Duration) -> Self {
        VerifiedToken { claims, issuer, kid, lifetime }
    }
}

/// What a token is cached under: the SHA-256 of the whole token. Computed once per request and
/// used for both the lookup and, after a full check, the insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenKey([u8; 32]);

impl From<&str> for TokenKey {
    fn from(token: &str) -> Self {
        let mut hash = [0; 32];
        hash.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        TokenKey(hash)
    }
}

struct UntilExpiry;

impl Expiry<TokenKey, Arc<VerifiedToken>> for UntilExpiry {
    fn expire_after_create(&self, _: &TokenKey, token: &Arc<VerifiedToken>, _: Instant) -> Option<Duration> {
        Some(token.lifetime)
    }
}

/// A bounded cache of verified tokens.
pub struct TokenCache {
    cache: Cache<TokenKey, Arc<VerifiedToken>>,
    max_ttl: Duration,
}

impl TokenCache {
    /// Holds at most `capacity` tokens, each for at most `max_ttl`.
    pub fn new(capacity: u64, max_ttl: Duration) -> Self {
        let cache =
            Cache::builder().max_capacity(capacity).expire_after(UntilExpiry).support_invalidation_closures().build();
        TokenCache { cache, max_ttl }
    }

    /// How long a token that expires in `until_exp` may stay.
    pub fn lifetime(&self, until_exp: Duration) -> Duration {
        until_exp.min(self.max_ttl)
    }

    /// The remembered verification of the token with this key, if any.
    pub fn get(&self, key: &TokenKey) -> Option<Arc<VerifiedToken>> {
        self.cache.get(key)
    }

    /// Remembers a verified token.
    pub fn insert(&self, key: TokenKey, verified: VerifiedToken) {
        if !verified.lifetime.is_zero() {
            self.cache.insert(key, Arc::new(verified));
        }
    }

    /// Drops every token of `issuer` whose signing key is not in `kids` (tokens of keys without
    /// a `kid` cannot be told apart, so they are dropped too); other issuers' tokens stay.
    pub fn retain_keys(&self, issuer: &str, kids: HashSet<String>) {
        let issuer = issuer.to_owned();
        let result = self.cache.invalidate_entries_if(move |_, token| {
            token.claims.iss.as_deref() == Some(issuer.as_str())
                && token.kid.as_ref().is_none_or(|kid| !kids.contains(kid))
        });
        if let Err(error) = result {
            tracing::warn!(%error, "could not drop cached tokens of removed keys; clearing the cache");
            self.cache.invalidate_all();
        }
    }

    /// How many tokens are cached (approximately; pending work is not counted).
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    /// Whether no token is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(kid: &str, lifetime: Duration) -> VerifiedToken {
        let claims: Claims = serde_json::from_value(serde_json::json!({"iss": "https://a/", "sub": kid})).unwrap();
        VerifiedToken::new(Arc::new(claims), 0, Some(kid.to_owned()), lifetime)
    }

    #[test]
    fn hits_need_the_whole_token() {
        let cache = TokenCache::new(10, Duration::from_secs(60));
        cache.insert(TokenKey::from("header.payload.signature"), verified("k1", Duration::from_secs(60)));
        assert!(cache.get(&"header.payload.signature".into()).is_some());
        assert!(cache.get(&"header.payload.signaturX".into()).is_none());
        assert!(cache.get(&"header.payload.".into()).is_none());
    }

    #[test]
    fn entries_end_with_their_lifetime() {
        let cache = TokenCache::new(10, Duration::from_secs(60));
        assert_eq!(cache.lifetime(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(cache.lifetime(Duration::from_secs(5)), Duration::from_secs(5));
        cache.insert(TokenKey::from("short"), verified("k1", Duration::from_millis(50)));
        cache.insert(TokenKey::from("expired"), verified("k1", Duration::ZERO));
        assert!(cache.get(&"short".into()).is_some());
        assert!(cache.get(&"expired".into()).is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(cache.get(&"short".into()).is_none());
    }

    #[test]
    fn tokens_of_removed_keys_are_dropped() {
        let cache = TokenCache::new(10, Duration::from_secs(60));
        cache.insert(TokenKey::from("old"), verified("old-key", Duration::from_secs(60)));
        cache.insert(TokenKey::from("new"), verified("new-key", Duration::from_secs(60)));
        cache.retain_keys("https://other/", HashSet::new());
        assert!(cache.get(&"old".into()).is_some(), "another issuer's refresh keeps them");
        cache.retain_keys("https://a/", HashSet::from(["new-key".to_owned()]));
        assert!(cache.get(&"old".into()).is_none());
        assert!(cache.get(&"new".into()).is_some());
    }

    #[test]
    fn the_capacity_is_bounded() {
        let cache = TokenCache::new(100, Duration::from_secs(60));
        for n in 0..1000 {
            cache.insert(TokenKey::from(format!("token-{n}").as_str()), verified("k", Duration::from_secs(60)));
        }
        assert!(cache.len() <= 100, "{}", cache.len());
    }
}
