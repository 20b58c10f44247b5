//! Where the `jti`s of accepted proofs are remembered, so each proof is accepted once: in this
//! process ([`MemoryReplayStore`], moka) or in Redis ([`RedisReplayStore`]), which every replica
//! behind a load balancer shares. A proof is remembered for the whole time it could still be
//! accepted (`dpop.max_age` + `dpop.leeway`), and never forgotten earlier: a full memory store
//! refuses new proofs (503) instead of evicting, and an unreachable Redis refuses them too.

mod memory;
mod redis;

use std::time::Duration;

use aws_lc_rs::digest::{Context, SHA256};

pub use self::{memory::MemoryReplayStore, redis::RedisReplayStore};

/// What a proof is remembered under: the SHA-256 of its key's thumbprint and its `jti`, so one
/// client's `jti`s never collide with another's and every entry has the same small size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProofId([u8; 32]);

impl ProofId {
    /// The id of the proof with `jti` signed by the key whose thumbprint is `jkt`.
    pub fn new(jkt: &str, jti: &str) -> Self {
        let mut context = Context::new(&SHA256);
        context.update(jkt.as_bytes());
        context.update(b".");
        context.update(jti.as_bytes());
        let mut id = [0; 32];
        id.copy_from_slice(context.finish().as_ref());
        ProofId(id)
    }
}

/// Why a proof's `jti` could not be checked: the proof is refused with 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayUnavailable {
    /// The memory store holds `dpop.replay_capacity` proofs that could still be replayed.
    #[error("the replay store is full of proofs that are still valid")]
    Full,
    /// Redis did not answer in time, or refused the command.
    #[error("the replay store (Redis) cannot be reached")]
    Unreachable,
}

/// The replay store chosen by `dpop.replay_store`.
pub enum ReplayStore {
    /// In this process.
    Memory(MemoryReplayStore),
    /// In Redis, shared by the replicas.
    Redis(RedisReplayStore),
}

impl ReplayStore {
    /// Records `id` for `window`; `Ok(false)` when it was recorded before and has not expired.
    pub async fn first_use(&self, id: ProofId, window: Duration) -> Result<bool, ReplayUnavailable> {
        match self {
            ReplayStore::Memory(store) => store.first_use(id),
            ReplayStore::Redis(store) => store.first_use(id, window).await,
        }
    }

    /// What kind of store, for logs: `memory` or `redis`.
    pub fn kind(&self) -> &'static str {
        match self {
            ReplayStore::Memory(_) => "memory",
            ReplayStore::Redis(_) => "redis",
        }
    }

    /// How many proofs the memory store holds; `None` for Redis, which keeps its own count.
    pub fn entries(&self) -> Option<u64> {
        match self {
            ReplayStore::Memory(store) => Some(store.len()),
            ReplayStore::Redis(_) => None,
        }
    }
}
