//! The one clock every time rule reads: token expiry, the token cache's lifetimes, the key
//! store's TTL, cooldown and backoff, DPoP proof ages, nonces and the replay store. A verifier
//! reads [`SystemClock`] unless its builder is given another, such as a [`ManualClock`] that a
//! test moves forward instead of sleeping.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// A point in time: the time since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The time `since_epoch` after the Unix epoch.
    pub const fn from_unix(since_epoch: Duration) -> Self {
        Timestamp(since_epoch)
    }

    /// The time `seconds` whole seconds after the Unix epoch.
    pub const fn from_unix_seconds(seconds: u64) -> Self {
        Timestamp(Duration::from_secs(seconds))
    }

    /// The time since the Unix epoch.
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// Whole seconds since the Unix epoch, as JWT claims count them.
    pub fn unix_seconds(self) -> i64 {
        i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX)
    }

    /// The time from `earlier` to this one; zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// This time moved `by` later.
    pub fn plus(self, by: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(by))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        Timestamp(time.duration_since(UNIX_EPOCH).unwrap_or_default())
    }
}

impl From<Timestamp> for SystemTime {
    fn from(time: Timestamp) -> Self {
        UNIX_EPOCH + time.0
    }
}

/// Where the time comes from.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The time now.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock, as the issuers' clocks are (their `exp` and `iat` are wall-clock
/// times): it follows the system's adjustments.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        SystemTime::now().into()
    }
}

/// A clock that moves only when told to: for tests of time rules without waiting.
///
/// ```
/// use std::time::Duration;
/// use jwt_resource_server::{Clock, ManualClock, Timestamp};
///
/// let clock = ManualClock::new(Timestamp::from_unix_seconds(1_800_000_000));
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now().unix_seconds(), 1_800_000_090);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: Timestamp) -> Self {
        let nanos = u64::try_from(at.since_epoch().as_nanos()).unwrap_or(u64::MAX);
        ManualClock { nanos: Arc::new(AtomicU64::new(nanos)) }
    }

    /// Moves the clock `by` later (for every copy of it).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix(Duration::from_nanos(self.nanos.load(Ordering::SeqCst)))
    }
}

/// The clock a component reads.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_is_the_wall_clock() {
        let wall = Timestamp::from(SystemTime::now());
        assert!(SystemClock.now().saturating_since(wall) < Duration::from_secs(1));
    }

    #[test]
    fn a_manual_clock_moves_for_every_copy() {
        let clock = ManualClock::new(Timestamp::from_unix_seconds(100));
        let copy = clock.clone();
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(copy.now(), Timestamp::from_unix(Duration::from_millis(101_500)));
        assert_eq!(copy.now().unix_seconds(), 101);
    }
}
