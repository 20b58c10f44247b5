//! Where accepted proofs are remembered, so each proof is accepted once: in this process
//! ([`MemoryReplayStore`]) or in Redis ([`RedisReplayStore`]), which every replica behind a load
//! balancer shares. A proof is remembered until it could no longer be accepted (its `iat` plus
//! `dpop.max_age`, or the end of its nonce's lifetime), and never forgotten earlier: a full
//! memory store refuses new proofs (503) instead of evicting, and an unreachable Redis refuses
//! them too. A proof is recorded only once the token and the proof verified, so proofs signed by
//! random keys cannot fill a store.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::time::Duration;

use aws_lc_rs::digest::{Context, SHA256};

use crate::usage::Usage;

pub use self::memory::{KEY_SHARE, MemoryReplayStore};
#[cfg(feature = "redis")]
pub use self::redis::RedisReplayStore;

/// What a proof is remembered under: 128 bits of the SHA-256 of its key's thumbprint and its
/// `jti`, so one client's `jti`s never collide with another's and every entry is small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProofId(pub [u8; 16]);

impl ProofId {
    /// The id of the proof with `jti` signed by the key whose thumbprint (RFC 7638, the SHA-256
    /// digest) is `thumbprint`.
    pub fn new(thumbprint: &[u8; 32], jti: &str) -> Self {
        let mut context = Context::new(&SHA256);
        context.update(thumbprint);
        context.update(jti.as_bytes());
        let mut id = [0; 16];
        id.copy_from_slice(&context.finish().as_ref()[..16]);
        ProofId(id)
    }
}

/// A client's key, as the replay store counts the proofs it holds per key: 64 bits of its
/// thumbprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(u64);

impl KeyId {
    /// The key whose thumbprint (the SHA-256 digest) is `thumbprint`.
    pub fn new(thumbprint: &[u8; 32]) -> Self {
        KeyId(u64::from_le_bytes(thumbprint[..8].try_into().expect("8 of 32 bytes")))
    }
}

/// Why a proof could not be checked for replay: it is refused with 503 and `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayUnavailable {
    /// The memory store holds `dpop.replay_capacity` proofs that could still be replayed.
    #[error("the replay store is full of proofs that are still valid")]
    Full {
        /// When the oldest of them end.
        retry_after: Duration,
    },
    /// The proof's key holds its whole share of the memory store.
    #[error("this client's key holds its whole share of the replay store ({KEY_SHARE} %)")]
    KeyOverShare {
        /// When the oldest proofs of this key end.
        retry_after: Duration,
    },
    /// Redis did not answer in time, or refused the command.
    #[error("the replay store (Redis) cannot be reached")]
    Unreachable,
}

impl ReplayUnavailable {
    /// When a retry may succeed.
    pub fn retry_after(&self) -> Duration {
        match self {
            ReplayUnavailable::Full { retry_after } | ReplayUnavailable::KeyOverShare { retry_after } => *retry_after,
            ReplayUnavailable::Unreachable => Duration::from_secs(1),
        }
    }
}

/// A proof to remember: its id, its key, and the Unix time at which it stops being acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remembered {
    /// The proof.
    pub id: ProofId,
    /// The key that signed it.
    pub key: KeyId,
    /// The first Unix time at which it is no longer accepted.
    pub until: i64,
}

/// The replay store chosen by `dpop.replay_store`.
pub enum ReplayStore {
    /// In this process.
    Memory(MemoryReplayStore),
    /// In Redis, shared by the replicas.
    #[cfg(feature = "redis")]
    Redis(RedisReplayStore),
}

impl ReplayStore {
    /// Records `proof` at the Unix time `now`; `Ok(false)` when it was recorded before and has
    /// not expired.
    pub async fn first_use(&self, proof: Remembered, now: i64) -> Result<bool, ReplayUnavailable> {
        match self {
            ReplayStore::Memory(store) => store.first_use(proof.id, proof.key, proof.until, now),
            #[cfg(feature = "redis")]
            ReplayStore::Redis(store) => {
                let seconds = u64::try_from(proof.until.saturating_sub(now)).unwrap_or(0).max(1);
                store.first_use(proof.id, Duration::from_secs(seconds)).await
            }
        }
    }

    /// What kind of store, for logs: `memory` or `redis`.
    pub fn kind(&self) -> &'static str {
        match self {
            ReplayStore::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            ReplayStore::Redis(_) => "redis",
        }
    }

    /// How many proofs the memory store holds and the bytes it allocated for them; `None` for
    /// Redis, which keeps its own count.
    pub fn usage(&self) -> Option<Usage> {
        match self {
            ReplayStore::Memory(store) => Some(store.usage()),
            #[cfg(feature = "redis")]
            ReplayStore::Redis(_) => None,
        }
    }
}
