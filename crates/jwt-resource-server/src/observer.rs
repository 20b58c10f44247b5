//! What the token path reports as it works, for metrics: give the builder an [`AuthObserver`]
//! that counts the events; by default nobody listens ([`NoObserver`]).

use std::time::Duration;

/// How a key set fetch ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A usable key set was fetched.
    Success,
    /// The fetch failed (network, status, body, timeout, no usable key).
    Failure,
}

/// Receives the token path's events; every method does nothing unless implemented.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
/// use jwt_resource_server::{AuthObserver, FetchOutcome, Issuer, ResourceServer};
///
/// #[derive(Default)]
/// struct Counts {
///     failed_fetches: AtomicU64,
/// }
///
/// impl AuthObserver for Counts {
///     fn key_fetch(&self, _issuer: &str, outcome: FetchOutcome) {
///         if outcome == FetchOutcome::Failure {
///             self.failed_fetches.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let counts = Arc::new(Counts::default());
/// let server = ResourceServer::builder()
///     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
///     .audience("https://api.example.com")
///     .observer(counts.clone())
///     .build()
///     .unwrap();
/// assert_eq!(counts.failed_fetches.load(Ordering::Relaxed), 0);
/// ```
pub trait AuthObserver: Send + Sync {
    /// A token was accepted (from the token cache or after a full check).
    fn verified(&self) {}

    /// A valid token not in the token cache was checked in full in `elapsed`.
    fn full_check(&self, _elapsed: Duration) {}

    /// A fetch of `issuer`'s key set ended.
    fn key_fetch(&self, _issuer: &str, _outcome: FetchOutcome) {}

    /// A token whose `kid` was not in `issuer`'s cached key set caused a refetch.
    fn unknown_kid_refetch(&self, _issuer: &str) {}
}

/// The observer that listens to nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl AuthObserver for NoObserver {}
