//! The one place that decides when the key set is fetched again.

use std::time::Duration;

/// When to refresh the key set, how long stale keys may serve, and how to back off after failures.
#[derive(Debug, Clone)]
pub struct RefreshPolicy {
    /// A key set younger than this is used without a refresh.
    pub ttl: Duration,
    /// Minimum time between refetches caused by an unknown `kid`; other fetches do not count.
    pub cooldown: Duration,
    /// How long past `ttl` the last good key set keeps serving while refreshes fail.
    pub max_stale: Duration,
    /// Delay before the first retry after a failure.
    pub retry_initial: Duration,
    /// Largest delay between retries.
    pub retry_max: Duration,
    /// Time allowed for one whole fetch.
    pub fetch_timeout: Duration,
}

impl Default for RefreshPolicy {
    /// A TTL of 10 minutes, a cooldown of 30 s, stale keys for an hour, retries from 1 s to 30 s,
    /// 5 s for a fetch.
    fn default() -> Self {
        RefreshPolicy {
            ttl: Duration::from_secs(600),
            cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(3600),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

impl RefreshPolicy {
    /// Whether a key set of this age should be refreshed (in the background: it still serves).
    pub fn is_due(&self, age: Duration) -> bool {
        age >= self.ttl
    }

    /// The age past which a key set is no longer used at all.
    pub fn max_age(&self) -> Duration {
        self.ttl.saturating_add(self.max_stale)
    }

    /// Whether an unknown `kid` may trigger a fetch, given the time since the last refetch that
    /// an unknown `kid` caused.
    pub fn may_refetch_for_unknown_kid(&self, since_unknown_kid_refetch: Option<Duration>) -> bool {
        since_unknown_kid_refetch.is_none_or(|elapsed| elapsed >= self.cooldown)
    }

    /// The delay before the next attempt after `failures` consecutive failures (1 or more):
    /// `retry_initial`, doubled per further failure, at most `retry_max`.
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.retry_initial.saturating_mul(1 << doublings).min(self.retry_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RefreshPolicy {
        RefreshPolicy {
            ttl: Duration::from_secs(600),
            cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(3600),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_maximum() {
        let delays: Vec<u64> = (1..=7).map(|n| policy().retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(policy().retry_delay(u32::MAX).as_secs(), 30);
    }

    #[test]
    fn unknown_kid_refetch_waits_for_the_cooldown() {
        let policy = policy();
        assert!(policy.may_refetch_for_unknown_kid(None));
        assert!(!policy.may_refetch_for_unknown_kid(Some(Duration::from_secs(29))));
        assert!(policy.may_refetch_for_unknown_kid(Some(Duration::from_secs(30))));
    }

    #[test]
    fn stale_keys_serve_until_ttl_plus_max_stale() {
        let policy = policy();
        assert!(!policy.is_due(Duration::from_secs(599)));
        assert!(policy.is_due(Duration::from_secs(600)));
        assert_eq!(policy.max_age(), Duration::from_secs(4200));
    }
}
