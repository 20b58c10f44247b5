//! The replay store of one process, built to keep up with the service: about 20 bytes per
//! proof, O(1) expiry, and no client able to crowd out another.
//!
//! - A proof is held until it could no longer be accepted (`until`, from its `iat` and, with
//!   nonces, its nonce), in the bucket of the time slot in which that happens. Buckets are
//!   dropped whole when their slot has passed; nothing is ever forgotten earlier.
//! - A bucket is a hash table of 12-byte proof ids (from [`ProofId`]), hashed with a key drawn at
//!   start-up, so nobody can choose ids that collide in it. A new proof is looked up in every
//!   bucket (a few dozen at most), so a `jti` is accepted once whatever `iat` it comes with.
//! - At `capacity` proofs, new ones are refused with 503 until the oldest bucket ends. One key
//!   (`jkt`) may hold at most [`KEY_SHARE`] of the capacity: past it, its own proofs are refused
//!   with 503 until its oldest ones end, while other clients still find room.

use std::{
    collections::{HashMap, VecDeque},
    hash::{BuildHasher, RandomState},
    sync::Mutex,
    time::Duration,
};

use hashbrown::HashTable;

use super::{KeyId, ProofId, ReplayUnavailable};
use crate::usage::Usage;

/// The share of the capacity one key may hold, in percent.
pub const KEY_SHARE: u64 = 90;

/// The most buckets: the acceptance window is cut into slots of at least one second so that a
/// new proof is looked up in at most this many.
const MAX_BUCKETS: u64 = 32;

/// A proof id as the memory store keeps it: 96 bits of [`ProofId`] (two honest proofs collide
/// with a probability below 10^-16 in a full store).
type ShortId = [u8; 12];

/// Proofs that stop being acceptable within one time slot.
struct Bucket {
    /// The slot's number: the proofs stop being acceptable before `(slot + 1) * slot_seconds`.
    slot: i64,
    ids: HashTable<ShortId>,
    /// How many of the bucket's proofs each key signed.
    keys: HashMap<KeyId, u32>,
}

/// The buckets, oldest first, and what they hold together.
#[derive(Default)]
struct Held {
    buckets: VecDeque<Bucket>,
    /// Proofs held per key.
    per_key: HashMap<KeyId, u64>,
    len: u64,
}

/// Proof ids within their acceptance window, at most `capacity` of them.
pub struct MemoryReplayStore {
    held: Mutex<Held>,
    hasher: RandomState,
    capacity: u64,
    key_share: u64,
    slot_seconds: i64,
}

impl MemoryReplayStore {
    /// A store of at most `capacity` proofs, each held for at most `window` (`dpop.max_age` +
    /// `dpop.leeway`, or the nonce's lifetime).
    pub fn new(capacity: u64, window: Duration) -> Self {
        let slot_seconds = window.as_secs().div_ceil(MAX_BUCKETS - 1).max(1);
        MemoryReplayStore {
            held: Mutex::new(Held::default()),
            hasher: RandomState::new(),
            capacity,
            key_share: (capacity * KEY_SHARE / 100).max(1),
            slot_seconds: i64::try_from(slot_seconds).unwrap_or(i64::MAX),
        }
    }

    /// Records the proof `id` signed by `key`, which stops being acceptable at the Unix time
    /// `until`; `Ok(false)` when it is held already. `now` is the current Unix time.
    pub fn first_use(&self, id: ProofId, key: KeyId, until: i64, now: i64) -> Result<bool, ReplayUnavailable> {
        let short: ShortId = id.0[..12].try_into().expect("12 of 16 bytes");
        let hash = self.hasher.hash_one(short);
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.expire(now, self.slot_seconds);
        if held.buckets.iter().any(|bucket| bucket.ids.find(hash, |held| *held == short).is_some()) {
            return Ok(false);
        }
        if held.per_key.get(&key).is_some_and(|count| *count >= self.key_share) {
            let oldest = held.buckets.iter().find(|bucket| bucket.keys.contains_key(&key));
            return Err(ReplayUnavailable::KeyOverShare { retry_after: self.until_end(oldest, now) });
        }
        if held.len >= self.capacity {
            return Err(ReplayUnavailable::Full { retry_after: self.until_end(held.buckets.front(), now) });
        }
        let slot = until.max(now).saturating_sub(1) / self.slot_seconds;
        let position = held.buckets.partition_point(|bucket| bucket.slot < slot);
        if held.buckets.get(position).is_none_or(|bucket| bucket.slot != slot) {
            held.buckets.insert(position, Bucket { slot, ids: HashTable::new(), keys: HashMap::new() });
        }
        let hasher = &self.hasher;
        let bucket = &mut held.buckets[position];
        bucket.ids.insert_unique(hash, short, |held| hasher.hash_one(held));
        *bucket.keys.entry(key).or_default() += 1;
        *held.per_key.entry(key).or_default() += 1;
        held.len += 1;
        Ok(true)
    }

    /// How many proofs are held, and the bytes the store has allocated for them.
    pub fn usage(&self) -> Usage {
        let held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bytes = held
            .buckets
            .iter()
            .map(|bucket| {
                size_of::<Bucket>() + table_bytes(bucket.ids.capacity(), size_of::<ShortId>()) + map_bytes(&bucket.keys)
            })
            .sum::<usize>()
            + map_bytes(&held.per_key);
        Usage { entries: held.len, bytes: u64::try_from(bytes).unwrap_or(u64::MAX) }
    }

    /// How many proofs are held.
    pub fn len(&self) -> u64 {
        self.usage().entries
    }

    /// Whether no proof is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The time from `now` until `bucket`'s slot ends (at least one second).
    fn until_end(&self, bucket: Option<&Bucket>, now: i64) -> Duration {
        let end = bucket.map_or(now, |bucket| (bucket.slot + 1).saturating_mul(self.slot_seconds));
        Duration::from_secs(u64::try_from(end.saturating_sub(now)).unwrap_or(0).max(1))
    }
}

impl Held {
    /// Drops the buckets whose slot ended by `now`.
    fn expire(&mut self, now: i64, slot_seconds: i64) {
        while self.buckets.front().is_some_and(|bucket| (bucket.slot + 1).saturating_mul(slot_seconds) <= now) {
            let Some(bucket) = self.buckets.pop_front() else { break };
            self.len -= bucket.ids.len() as u64;
            for (key, count) in bucket.keys {
                if let Some(held) = self.per_key.get_mut(&key) {
                    *held -= u64::from(count);
                    if *held == 0 {
                        self.per_key.remove(&key);
                    }
                }
            }
        }
    }
}

/// The bytes hashbrown allocates for a table with room for `capacity` items of `size` bytes:
/// a power of two of buckets, 7/8 of them usable, each with one control byte.
fn table_bytes(capacity: usize, size: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 { capacity + 1 } else { capacity * 8 / 7 }.next_power_of_two();
    buckets * (size + 1) + 16
}

fn map_bytes<K, V>(map: &HashMap<K, V>) -> usize {
    table_bytes(map.capacity(), size_of::<(K, V)>())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const WINDOW: Duration = Duration::from_secs(90);

    fn id(jti: &str) -> ProofId {
        ProofId::new(&[7; 32], jti)
    }

    #[test]
    fn a_proof_is_accepted_once_and_a_full_store_refuses_instead_of_forgetting() {
        let store = MemoryReplayStore::new(3, WINDOW);
        let (alice, bob) = (KeyId::new(&[1; 32]), KeyId::new(&[2; 32]));
        assert_eq!(store.first_use(id("a"), alice, NOW + 60, NOW), Ok(true));
        assert_eq!(store.first_use(id("a"), alice, NOW + 60, NOW + 1), Ok(false));
        assert_eq!(store.first_use(id("a"), alice, NOW + 90, NOW + 1), Ok(false), "whatever its iat");
        assert_eq!(store.first_use(id("b"), alice, NOW + 60, NOW), Ok(true));
        assert_eq!(store.first_use(id("c"), bob, NOW + 60, NOW), Ok(true));
        let full = store.first_use(id("d"), bob, NOW + 60, NOW);
        assert_eq!(full, Err(ReplayUnavailable::Full { retry_after: Duration::from_secs(60) }));
        assert_eq!(store.first_use(id("a"), alice, NOW + 60, NOW + 59), Ok(false), "still refused, never forgotten");
        assert_eq!(store.len(), 3);
        assert_eq!(store.first_use(id("d"), bob, NOW + 120, NOW + 60), Ok(true), "room once the oldest ended");
        assert_eq!(store.len(), 1);
        assert_ne!(ProofId::new(&[1; 32], "a"), ProofId::new(&[2; 32], "a"));
    }

    #[test]
    fn one_key_cannot_crowd_out_the_others() {
        let store = MemoryReplayStore::new(10, WINDOW);
        let (greedy, other) = (KeyId::new(&[1; 32]), KeyId::new(&[2; 32]));
        for n in 0..9 {
            assert_eq!(store.first_use(id(&format!("g{n}")), greedy, NOW + 30 + n, NOW), Ok(true));
        }
        let over = store.first_use(id("g9"), greedy, NOW + 60, NOW + 5);
        assert_eq!(over, Err(ReplayUnavailable::KeyOverShare { retry_after: Duration::from_secs(25) }));
        assert_eq!(store.first_use(id("o1"), other, NOW + 60, NOW + 5), Ok(true), "another client finds room");
        let full = store.first_use(id("o2"), other, NOW + 60, NOW + 5);
        assert!(matches!(full, Err(ReplayUnavailable::Full { .. })));
        assert_eq!(store.first_use(id("g9"), greedy, NOW + 90, NOW + 33), Ok(true), "its oldest proof ended");
    }

    #[test]
    fn proofs_leave_when_their_window_ends_and_their_bytes_with_them() {
        let store = MemoryReplayStore::new(1_000_000, Duration::from_secs(60));
        let key = KeyId::new(&[1; 32]);
        for second in 0..60 {
            for n in 0..1_000 {
                let jti = format!("{second}-{n}");
                assert_eq!(store.first_use(id(&jti), key, NOW + second + 60, NOW + second), Ok(true));
            }
        }
        let Usage { entries: len, bytes } = store.usage();
        assert_eq!(len, 60_000);
        assert!(bytes < 60_000 * 40, "{bytes} bytes for {len} proofs");
        assert_eq!(store.first_use(id("0-0"), key, NOW + 60, NOW + 59), Ok(false), "the oldest is still held");
        assert_eq!(store.first_use(id("new"), key, NOW + 200, NOW + 200), Ok(true));
        assert_eq!(store.usage().entries, 1, "every earlier bucket ended");
    }
}
