//! Verified tokens, remembered so a client that reuses its token costs one hash lookup instead of
//! an RSA verification.
//!
//! - The key is the SHA-256 of the whole token, never a prefix; the value the verified claims.
//! - An entry lives until the token's `exp` (plus the leeway) or `max_ttl`, whichever is first,
//!   by the verifier's clock; it keeps the token's custom claims when an operation read them.
//! - The cache is bounded by the bytes its entries hold ([`TokenCache::weight`]: the claims as
//!   stored and what the cache keeps per entry), and by a number of entries: an entry counts as
//!   at least `max_bytes / max_entries` bytes, so both bounds are one capacity.
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

use crate::{claims::Claims, clock::Timestamp, custom::AnyClaims, usage::Usage};

/// What the cache keeps per entry beyond the entry's own value: moka's node, its place in the
/// access order and in the timer wheel. Measured with moka 0.12 (a weigher and per-entry
/// expiry): about 465 bytes per entry with a 64-byte value, so 400 for the cache's own part.
const ENTRY_OVERHEAD: usize = 400;

/// A verified token's claims, with what is needed to expire and re-check it.
pub(crate) struct VerifiedToken {
    /// The claims, shared with every request presenting the same token.
    pub claims: Arc<Claims>,
    /// The position of its issuer among the verifier's trusted issuers.
    pub issuer: usize,
    /// The `kid` of the key that verified it (shared with the key).
    pub kid: Option<Arc<str>>,
    /// The custom claims an operation read from it, if any.
    pub custom: Option<AnyClaims>,
    /// When the entry ends, by the verifier's clock.
    pub until: Timestamp,
    lifetime: Duration,
}

impl VerifiedToken {
    /// A token of the issuer at `issuer` verified at `now`, remembered for at most `lifetime`.
    pub fn new(
        claims: Arc<Claims>,
        issuer: usize,
        kid: Option<Arc<str>>,
        custom: Option<AnyClaims>,
        now: Timestamp,
        lifetime: Duration,
    ) -> Self {
        VerifiedToken { claims, issuer, kid, custom, until: now.plus(lifetime), lifetime }
    }

    /// The same token, keeping `custom` claims, for the rest of its lifetime after `now`.
    pub fn with_custom(&self, custom: AnyClaims, now: Timestamp) -> Self {
        let lifetime = self.until.saturating_since(now);
        VerifiedToken {
            claims: Arc::clone(&self.claims),
            kid: self.kid.clone(),
            custom: Some(custom),
            lifetime,
            ..*self
        }
    }
}

/// What a token is cached under: the SHA-256 of the whole token. Computed once per request and
/// used for both the lookup and, after a full check, the insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey([u8; 32]);

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

/// How large the cache of verified tokens may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBounds {
    /// The bytes all entries may hold together.
    pub max_bytes: u64,
    /// The most entries.
    pub max_entries: u64,
    /// The longest an entry stays.
    pub max_ttl: Duration,
}

impl Default for CacheBounds {
    /// 32 MiB, 10,000 entries, 5 minutes.
    fn default() -> Self {
        CacheBounds { max_bytes: 32 << 20, max_entries: 10_000, max_ttl: Duration::from_secs(300) }
    }
}

/// A cache of verified tokens, bounded by bytes and entries.
pub(crate) struct TokenCache {
    cache: Cache<TokenKey, Arc<VerifiedToken>>,
    max_ttl: Duration,
}

impl TokenCache {
    /// A cache within `bounds`.
    pub fn new(bounds: CacheBounds) -> Self {
        let least = usize::try_from(bounds.max_bytes / bounds.max_entries.max(1)).unwrap_or(usize::MAX);
        let cache = Cache::builder()
            .max_capacity(bounds.max_bytes)
            .weigher(move |_, token: &Arc<VerifiedToken>| {
                u32::try_from(Self::weight(token).max(least)).unwrap_or(u32::MAX)
            })
            .expire_after(UntilExpiry)
            .support_invalidation_closures()
            .build();
        TokenCache { cache, max_ttl: bounds.max_ttl }
    }

    /// The bytes an entry holds: the cache's own part, the key, the value, the claims and the
    /// custom claims.
    pub fn weight(token: &VerifiedToken) -> usize {
        // Each `Arc` allocation carries two reference counts.
        let counts = 2 * size_of::<usize>();
        ENTRY_OVERHEAD
            + size_of::<TokenKey>()
            + counts
            + size_of::<VerifiedToken>()
            + counts
            + size_of::<Claims>()
            + token.claims.heap_bytes()
            + token.custom.as_ref().map_or(0, |custom| counts + custom.weight)
    }

    /// How long a token that expires in `until_exp` may stay.
    pub fn lifetime(&self, until_exp: Duration) -> Duration {
        until_exp.min(self.max_ttl)
    }

    /// The remembered verification of the token with this key, if it has not ended at `now`.
    pub fn get(&self, key: &TokenKey, now: Timestamp) -> Option<Arc<VerifiedToken>> {
        self.cache.get(key).filter(|token| now < token.until)
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
            token.claims.iss() == Some(issuer.as_str()) && token.kid.as_deref().is_none_or(|kid| !kids.contains(kid))
        });
        if let Err(error) = result {
            tracing::warn!(%error, "could not drop cached tokens of removed keys; clearing the cache");
            self.cache.invalidate_all();
        }
    }

    /// How many tokens are cached, and the bytes they hold (after pending work is done).
    pub fn usage(&self) -> Usage {
        self.cache.run_pending_tasks();
        Usage { entries: self.cache.entry_count(), bytes: self.cache.weighted_size() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: CacheBounds = CacheBounds { max_bytes: 1 << 20, max_entries: 10, max_ttl: Duration::from_secs(60) };
    const NOW: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

    fn verified(kid: &str, lifetime: Duration) -> VerifiedToken {
        let claims = Claims::from_json(format!(r#"{{"iss": "https://a/", "sub": "{kid}"}}"#)).unwrap();
        VerifiedToken::new(Arc::new(claims), 0, Some(kid.into()), None, NOW, lifetime)
    }

    #[test]
    fn hits_need_the_whole_token() {
        let cache = TokenCache::new(BOUNDS);
        cache.insert(TokenKey::from("header.payload.signature"), verified("k1", Duration::from_secs(60)));
        assert!(cache.get(&"header.payload.signature".into(), NOW).is_some());
        assert!(cache.get(&"header.payload.signaturX".into(), NOW).is_none());
        assert!(cache.get(&"header.payload.".into(), NOW).is_none());
    }

    #[test]
    fn entries_end_with_their_lifetime_by_the_clock() {
        let cache = TokenCache::new(BOUNDS);
        assert_eq!(cache.lifetime(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(cache.lifetime(Duration::from_secs(5)), Duration::from_secs(5));
        cache.insert(TokenKey::from("short"), verified("k1", Duration::from_secs(5)));
        cache.insert(TokenKey::from("expired"), verified("k1", Duration::ZERO));
        assert!(cache.get(&"short".into(), NOW.plus(Duration::from_millis(4_999))).is_some());
        assert!(cache.get(&"short".into(), NOW.plus(Duration::from_secs(5))).is_none());
        assert!(cache.get(&"expired".into(), NOW).is_none());
    }

    #[test]
    fn tokens_of_removed_keys_are_dropped() {
        let cache = TokenCache::new(BOUNDS);
        cache.insert(TokenKey::from("old"), verified("old-key", Duration::from_secs(60)));
        cache.insert(TokenKey::from("new"), verified("new-key", Duration::from_secs(60)));
        cache.retain_keys("https://other/", HashSet::new());
        assert!(cache.get(&"old".into(), NOW).is_some(), "another issuer's refresh keeps them");
        cache.retain_keys("https://a/", HashSet::from(["new-key".to_owned()]));
        assert!(cache.get(&"old".into(), NOW).is_none());
        assert!(cache.get(&"new".into(), NOW).is_some());
    }

    #[test]
    fn the_entries_are_bounded_by_count_and_by_bytes() {
        let by_count = TokenCache::new(CacheBounds { max_entries: 100, ..BOUNDS });
        for n in 0..1000 {
            by_count.insert(TokenKey::from(format!("token-{n}").as_str()), verified("k", Duration::from_secs(60)));
        }
        assert!(by_count.usage().entries <= 100, "{}", by_count.usage().entries);

        let large = |n: usize| {
            let claims = Claims::from_json(format!(r#"{{"iss": "https://a/", "pad": "{}"}}"#, "x".repeat(10_000 + n)));
            VerifiedToken::new(Arc::new(claims.unwrap()), 0, None, None, NOW, Duration::from_secs(60))
        };
        let weight = TokenCache::weight(&large(0));
        assert!((10_400..11_000).contains(&weight), "{weight}");
        let by_bytes = TokenCache::new(CacheBounds { max_bytes: 100_000, max_entries: 1_000, ..BOUNDS });
        for n in 0..100 {
            by_bytes.insert(TokenKey::from(format!("large-{n}").as_str()), large(n));
        }
        let Usage { entries, bytes } = by_bytes.usage();
        assert!(entries <= 9 && bytes <= 100_000, "{entries} entries, {bytes} bytes");
    }

    #[test]
    fn custom_claims_are_counted() {
        let plain = verified("k", Duration::from_secs(60));
        let custom = AnyClaims::new(Arc::new(vec![1_u8; 4]), 1_000);
        let with_custom = plain.with_custom(custom, NOW.plus(Duration::from_secs(10)));
        assert!(TokenCache::weight(&with_custom) >= TokenCache::weight(&plain) + 1_000);
        assert_eq!(with_custom.until, plain.until, "the entry keeps its end");
    }
}
