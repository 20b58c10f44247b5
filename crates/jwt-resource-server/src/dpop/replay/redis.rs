//! The replay store shared by replicas: `SET <id> 1 NX PX <time left>` in Redis, which answers
//! whether the id was new. A key is [`KEY_PREFIX`] and the proof's 16-byte id, raw. A lazy
//! connection manager reconnects in the background; every command has a deadline, so an
//! unreachable Redis refuses DPoP requests quickly (503) and never touches bearer requests,
//! which do not use the store.

use std::time::Duration;

use redis::{
    Client,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::sync::OnceCell;
use tracing::Instrument;

use super::{ProofId, ReplayUnavailable};

/// The prefix of every key this service writes.
pub const KEY_PREFIX: &[u8] = b"dpop:";

/// Proof ids in Redis.
pub struct RedisReplayStore {
    client: Client,
    /// Made on first use, inside the runtime its background reconnection needs.
    connection: OnceCell<ConnectionManager>,
    timeout: Duration,
}

impl RedisReplayStore {
    /// A store at `url` (`redis://[user:password@]host[:port][/db]`), whose commands fail after
    /// `timeout`. Connects on first use, so the service starts while Redis is down.
    pub fn new(url: &str, timeout: Duration) -> redis::RedisResult<Self> {
        Ok(RedisReplayStore { client: Client::open(url)?, connection: OnceCell::new(), timeout })
    }

    /// The connection manager, made the first time.
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let manager = self
            .connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_secs(1));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await?;
        Ok(manager.clone())
    }

    /// Records `id` for `time_left`; `Ok(false)` when Redis holds it already. In a client span
    /// (OpenTelemetry's database conventions) that never holds the key.
    pub async fn first_use(&self, id: ProofId, time_left: Duration) -> Result<bool, ReplayUnavailable> {
        let span = tracing::debug_span!(
            "redis",
            otel.name = "SET",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            db.system.name = "redis",
            db.operation.name = "SET",
        );
        let result = self.set_if_new(id, time_left).instrument(span.clone()).await;
        if result.is_err() {
            span.record("otel.status_code", "error");
        }
        result
    }

    async fn set_if_new(&self, id: ProofId, time_left: Duration) -> Result<bool, ReplayUnavailable> {
        let mut key = [0_u8; KEY_PREFIX.len() + 16];
        key[..KEY_PREFIX.len()].copy_from_slice(KEY_PREFIX);
        key[KEY_PREFIX.len()..].copy_from_slice(&id.0);
        let millis = u64::try_from(time_left.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut command = redis::cmd("SET");
        command.arg(&key[..]).arg(1).arg("NX").arg("PX").arg(millis);
        let mut connection = self.connection().await.map_err(|error| {
            tracing::warn!(%error, "the DPoP replay store (Redis) cannot be reached");
            ReplayUnavailable::Unreachable
        })?;
        match tokio::time::timeout(self.timeout, command.query_async::<Option<String>>(&mut connection)).await {
            Ok(Ok(set)) => Ok(set.is_some()),
            Ok(Err(error)) => {
                tracing::warn!(%error, "the DPoP replay store (Redis) refused a command");
                Err(ReplayUnavailable::Unreachable)
            }
            Err(_) => {
                tracing::warn!(timeout = ?self.timeout, "the DPoP replay store (Redis) did not answer in time");
                Err(ReplayUnavailable::Unreachable)
            }
        }
    }
}
