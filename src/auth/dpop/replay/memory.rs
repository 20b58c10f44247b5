//! The replay store of one process: a moka cache of proof ids that expire after the acceptance
//! window, with an exact bound on how many it holds. moka evicts by size when it has a capacity,
//! which would forget proofs that can still be replayed; so it has none, and a counter of live
//! entries refuses a new proof when the bound is reached.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use moka::{notification::RemovalCause, sync::Cache};

use super::{ProofId, ReplayUnavailable};

/// Proof ids seen within the acceptance window, at most `capacity` of them.
pub struct MemoryReplayStore {
    seen: Cache<ProofId, ()>,
    live: Arc<AtomicU64>,
    capacity: u64,
}

impl MemoryReplayStore {
    /// Remembers each proof for `window` (`dpop.max_age` + `dpop.leeway`), at most `capacity` at once.
    pub fn new(capacity: u64, window: Duration) -> Self {
        let live = Arc::new(AtomicU64::new(0));
        let expired = Arc::clone(&live);
        let seen = Cache::builder()
            .time_to_live(window)
            .eviction_listener(move |_, (), cause| {
                if cause != RemovalCause::Replaced {
                    expired.fetch_sub(1, Ordering::Relaxed);
                }
            })
            .build();
        MemoryReplayStore { seen, live, capacity }
    }

    /// Records `id`; `Ok(false)` when it is already recorded.
    pub fn first_use(&self, id: ProofId) -> Result<bool, ReplayUnavailable> {
        if !self.reserve() {
            // Expired entries are counted until moka's maintenance removes them: run it once.
            self.seen.run_pending_tasks();
            if !self.reserve() {
                return Err(ReplayUnavailable::Full);
            }
        }
        let fresh = self.seen.entry(id).or_insert(()).is_fresh();
        if !fresh {
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(fresh)
    }

    /// How many proofs are held (including expired ones not yet removed).
    pub fn len(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// Whether no proof is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes a place for one more proof, if there is one.
    fn reserve(&self) -> bool {
        let before = self.live.fetch_add(1, Ordering::Relaxed);
        if before < self.capacity {
            return true;
        }
        self.live.fetch_sub(1, Ordering::Relaxed);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_is_accepted_once_and_a_full_store_refuses_instead_of_forgetting() {
        let store = MemoryReplayStore::new(2, Duration::from_secs(300));
        let (a, b, c) = (ProofId::new("key", "a"), ProofId::new("key", "b"), ProofId::new("key", "c"));
        assert_eq!(store.first_use(a), Ok(true));
        assert_eq!(store.first_use(a), Ok(false));
        assert_eq!(store.first_use(b), Ok(true));
        assert_eq!(store.first_use(c), Err(ReplayUnavailable::Full));
        assert_eq!(store.first_use(a), Err(ReplayUnavailable::Full), "still refused, never accepted");
        assert_eq!(store.len(), 2);
        assert_ne!(ProofId::new("key", "a"), ProofId::new("other key", "a"));
    }

    #[test]
    fn room_comes_back_when_proofs_expire() {
        let store = MemoryReplayStore::new(1, Duration::from_millis(50));
        assert_eq!(store.first_use(ProofId::new("key", "a")), Ok(true));
        assert_eq!(store.first_use(ProofId::new("key", "b")), Err(ReplayUnavailable::Full));
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(store.first_use(ProofId::new("key", "b")), Ok(true));
        assert_eq!(store.len(), 1);
    }
}
