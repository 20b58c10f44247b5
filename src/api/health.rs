//! Liveness and readiness probes.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::ApiTags;
use crate::auth::Verifier;

/// The process is up.
#[derive(Debug, Clone, Object)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// Whether tokens can be verified now, and the state of the signing keys.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Age of the cached key set, in seconds.
    pub key_set_age_seconds: Option<u64>,
    /// Key ids of the cached key set.
    pub key_ids: Vec<String>,
    /// When the key set was last fetched successfully (RFC 3339).
    pub last_fetch: Option<String>,
    /// Why the last fetch failed, if it did.
    pub last_fetch_error: Option<String>,
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
    /// No usable signing keys: protected routes answer 503 until they are fetched.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

/// `/healthz` and `/readyz`.
pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness probe
    ///
    /// Answers 200 while the process runs.
    #[oai(path = "/healthz", method = "get", operation_id = "getHealth")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Ok(Json(Health { status: "ok".to_owned() }))
    }

    /// Readiness probe
    ///
    /// Answers 200 when the identity provider's signing keys are cached and usable, else 503.
    #[oai(path = "/readyz", method = "get", operation_id = "getReadiness")]
    async fn readyz(&self, verifier: Data<&Arc<Verifier>>) -> ReadinessResponse {
        let health = verifier.key_store().health().await;
        let report = Readiness {
            status: if health.ready { "ready" } else { "not_ready" }.to_owned(),
            key_set_age_seconds: health.age.map(|age| age.as_secs()),
            key_ids: health.key_ids,
            last_fetch: health.last_success.map(|at| humantime::format_rfc3339_seconds(at).to_string()),
            last_fetch_error: health.last_error.map(|error| error.to_string()),
        };
        if health.ready { ReadinessResponse::Ready(Json(report)) } else { ReadinessResponse::NotReady(Json(report)) }
    }
}
