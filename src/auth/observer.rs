//! What the token path reports as it works, for metrics. `auth` defines the events and the
//! metrics module counts them, so the dependency runs one way: `metrics` knows `auth`, never the
//! reverse.

use std::time::Duration;

/// How a key set fetch ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A usable key set was fetched.
    Success,
    /// The fetch failed (network, status, body, timeout, no usable key).
    Failure,
}

/// Receives the token path's events.
pub trait AuthObserver: Send + Sync {
    /// A token was accepted (from the token cache or after a full check).
    fn verified(&self);

    /// A valid token not in the token cache was checked in full in `elapsed`.
    fn full_check(&self, elapsed: Duration);

    /// A fetch of `issuer`'s key set ended.
    fn key_fetch(&self, issuer: &str, outcome: FetchOutcome);

    /// A token whose `kid` was not in `issuer`'s cached key set caused a refetch.
    fn unknown_kid_refetch(&self, issuer: &str);
}
