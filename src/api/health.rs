//! Liveness and readiness probes.

use std::{sync::Arc, time::SystemTime};

use jwt_resource_server::{ResourceServer, Timestamp};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::ApiTags;
use crate::http::Drain;

/// The process is up.
#[derive(Debug, Clone, Object)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// Whether tokens can be verified now, and the state of the signing keys: of every trusted
/// issuer together (the oldest key set, every key id, the first failure), then of each.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Readiness {
    /// `ready` when every issuer has usable keys and the service is not shutting down, else
    /// `not_ready`.
    pub status: String,
    /// Why the service is not ready when that is not its keys: `shutting_down` from the shutdown
    /// signal on, while it still serves for `server.shutdown_delay`.
    pub reason: Option<String>,
    /// Age of the oldest cached key set, in seconds.
    pub key_set_age_seconds: Option<u64>,
    /// Key ids of every cached key set.
    pub key_ids: Vec<String>,
    /// The oldest of the issuers' last successful fetches (RFC 3339).
    pub last_fetch: Option<String>,
    /// Why the last fetch of the first issuer whose fetch failed failed: the URL without its
    /// query and the kind of failure (the details are in the log).
    pub last_fetch_error: Option<String>,
    /// Each trusted issuer.
    pub issuers: Vec<IssuerReadiness>,
}

/// The signing keys of one trusted issuer.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct IssuerReadiness {
    /// The issuer.
    pub issuer: String,
    /// `ready` or `not_ready`.
    pub status: String,
    /// Age of its cached key set, in seconds.
    pub key_set_age_seconds: Option<u64>,
    /// Key ids of its cached key set.
    pub key_ids: Vec<String>,
    /// When its key set was last fetched successfully (RFC 3339).
    pub last_fetch: Option<String>,
    /// Why its last fetch failed, if it did: the URL without its query and the kind of
    /// failure (the details are in the log).
    pub last_fetch_error: Option<String>,
}

/// The probes' paths: their access lines never wait for a stuck log pipe.
pub const PROBE_PATHS: &[&str] = &["/healthz", "/readyz"];

fn status(ready: bool) -> String {
    if ready { "ready" } else { "not_ready" }.to_owned()
}

/// The answer of `GET /healthz`.
#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The process is running.
    #[oai(status = 200)]
    Ok(Json<Health>),
}

/// The answer of `GET /readyz`.
#[derive(ApiResponse)]
pub enum ReadinessResponse {
    /// Signing keys are cached and fresh enough to use.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// No usable signing keys (protected routes answer 503 until they are fetched), or the
    /// service is shutting down (`reason`: `shutting_down`) and leaves rotation.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

/// `/healthz` and `/readyz`, the latter of the signing keys of `server`'s trusted issuers and of
/// the drain.
#[derive(Clone)]
pub struct HealthApi {
    server: Arc<ResourceServer>,
    drain: Drain,
}

impl HealthApi {
    /// The probes of the service checking tokens with `server`, not ready once `drain` starts.
    pub fn new(server: Arc<ResourceServer>, drain: Drain) -> Self {
        HealthApi { server, drain }
    }
}

fn rfc3339(at: Timestamp) -> String {
    humantime::format_rfc3339_seconds(SystemTime::from(at)).to_string()
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness probe
    ///
    /// Answers 200 while the process runs, through the drain after SIGTERM too.
    #[oai(path = "/healthz", method = "get", operation_id = "getHealth")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Ok(Json(Health { status: "ok".to_owned() }))
    }

    /// Readiness probe
    ///
    /// Answers 200 when the identity provider's signing keys are cached and usable, else 503;
    /// 503 with `reason` `shutting_down` from the shutdown signal on.
    #[oai(path = "/readyz", method = "get", operation_id = "getReadiness")]
    async fn readyz(&self) -> ReadinessResponse {
        let verifier = self.server.verifier();
        let mut issuers = Vec::with_capacity(verifier.issuers().len());
        let (mut ready, mut oldest_success) = (true, None);
        for issuer in verifier.issuers() {
            let health = issuer.key_store().health();
            ready &= health.ready;
            oldest_success = match (oldest_success, health.last_success) {
                (Some(oldest), Some(at)) => Some(std::cmp::min(oldest, at)),
                (oldest, at) => oldest.or(at),
            };
            issuers.push(IssuerReadiness {
                issuer: issuer.issuer().to_owned(),
                status: status(health.ready),
                key_set_age_seconds: health.age.map(|age| age.as_secs()),
                key_ids: health.key_ids,
                last_fetch: health.last_success.map(rfc3339),
                last_fetch_error: health.last_error.map(|error| error.summary()),
            });
        }
        let draining = self.drain.is_draining();
        let ready = ready && !draining;
        let report = Readiness {
            status: status(ready),
            reason: draining.then(|| "shutting_down".to_owned()),
            key_set_age_seconds: issuers.iter().filter_map(|issuer| issuer.key_set_age_seconds).max(),
            key_ids: issuers.iter().flat_map(|issuer| issuer.key_ids.iter().cloned()).collect(),
            last_fetch: oldest_success.map(rfc3339),
            last_fetch_error: issuers.iter().find_map(|issuer| issuer.last_fetch_error.clone()),
            issuers,
        };
        if ready { ReadinessResponse::Ready(Json(report)) } else { ReadinessResponse::NotReady(Json(report)) }
    }
}
