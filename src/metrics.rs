//! Prometheus metrics: requests, latency, token rejections by reason, verified tokens, the time of
//! full token checks, key fetches and key set age, rendered in the Prometheus text format by prometheus-client.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use jwt_resource_server::{AuthObserver, FetchOutcome, RejectionReason, ResourceServer, Usage};
use poem::{Endpoint, Request, Response};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// Where the metrics are served.
pub const METRICS_PATH: &str = "/metrics";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Arc<str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Arc<str>,
}

/// A refusal's reason: one of a closed set of names.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
    issuer: Arc<str>,
}

/// An issuer label: only ever a configured issuer, so the label set stays bounded.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssuerLabels {
    issuer: Arc<str>,
}

/// Connection counts, kept by the HTTP server.
#[derive(Debug, Clone, Default)]
pub struct ConnectionStats {
    /// Connections open now.
    pub open: Gauge,
    /// Closed because a request's head did not arrive in time.
    pub header_timeouts: Counter,
    /// Closed after waiting too long for a next request.
    pub idle_timeouts: Counter,
    /// Answered 408 and closed because a request's body did not arrive in time.
    pub body_timeouts: Counter,
    /// Closed to make room for a new connection.
    pub shed: Counter,
    /// Refused with 503 because every connection was serving a request.
    pub refused: Counter,
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    rejections: Family<ReasonLabels, Counter>,
    verified: Counter,
    check_duration: Histogram,
    key_fetches: Family<OutcomeLabels, Counter>,
    unknown_kid_refetches: Family<IssuerLabels, Counter>,
    key_set_age: Family<IssuerLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    cached_tokens: Gauge,
    cached_token_bytes: Gauge,
    replay_entries: Gauge,
    replay_bytes: Gauge,
    log_lines_dropped: Counter,
    connections: ConnectionStats,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let rejections = Family::<ReasonLabels, Counter>::default();
        let verified = Counter::default();
        let check_duration = Histogram::new(exponential_buckets(0.000_005, 2.0, 14));
        let key_fetches = Family::<OutcomeLabels, Counter>::default();
        let unknown_kid_refetches = Family::<IssuerLabels, Counter>::default();
        let key_set_age = Family::<IssuerLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        let cached_tokens = Gauge::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        registry.register(
            "auth_rejections",
            "Requests refused by the bearer token checks, by reason",
            rejections.clone(),
        );
        registry.register("auth_verified_tokens", "Access tokens verified successfully", verified.clone());
        registry.register(
            "auth_token_check_duration_seconds",
            "Duration of the full checks of valid tokens not in the token cache: header, key, signature, claims",
            check_duration.clone(),
        );
        registry.register("jwks_fetches", "Signing key set fetches by outcome and issuer", key_fetches.clone());
        registry.register(
            "jwks_unknown_kid_refetches",
            "Key set fetches caused by a token whose kid was not in the issuer's cached key set (at most one per cooldown)",
            unknown_kid_refetches.clone(),
        );
        registry.register(
            "jwks_key_set_age_seconds",
            "Age of the issuer's cached signing key set (-1: none)",
            key_set_age.clone(),
        );
        registry.register("auth_token_cache_entries", "Verified tokens held in the token cache", cached_tokens.clone());
        let cached_token_bytes = Gauge::default();
        registry.register(
            "auth_token_cache_bytes",
            "Bytes held by the token cache's entries, as its weigher counts them (at most token_cache.max_bytes)",
            cached_token_bytes.clone(),
        );
        let replay_entries = Gauge::default();
        registry.register(
            "dpop_replay_store_entries",
            "DPoP proofs held by the in-memory replay store (0 with Redis or DPoP disabled); at dpop.replay_capacity new proofs get 503",
            replay_entries.clone(),
        );
        let replay_bytes = Gauge::default();
        registry.register(
            "dpop_replay_store_bytes",
            "Bytes the in-memory DPoP replay store has allocated for the proofs it holds",
            replay_bytes.clone(),
        );
        let log_lines_dropped = Counter::default();
        registry.register(
            "log_lines_dropped",
            "Log lines dropped because stdout did not keep up (log_when_full = drop)",
            log_lines_dropped.clone(),
        );
        let connections = ConnectionStats::default();
        registry.register("http_connections_open", "Client connections open now", connections.open.clone());
        for (name, help, counter) in [
            (
                "http_connections_header_timeouts",
                "Connections closed because a request head did not arrive within server.header_timeout",
                &connections.header_timeouts,
            ),
            (
                "http_connections_body_timeouts",
                "Requests answered 408 (and their connections closed) because the body did not arrive within server.body_timeout",
                &connections.body_timeouts,
            ),
            (
                "http_connections_idle_timeouts",
                "Kept-alive connections closed after server.idle_timeout without a request",
                &connections.idle_timeouts,
            ),
            (
                "http_connections_shed",
                "Waiting connections closed to make room for a new one at server.max_connections",
                &connections.shed,
            ),
            (
                "http_connections_refused",
                "Connections answered 503 because every connection was serving a request",
                &connections.refused,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        Metrics {
            registry,
            requests,
            latency,
            rejections,
            verified,
            check_duration,
            key_fetches,
            unknown_kid_refetches,
            key_set_age,
            cached_tokens,
            cached_token_bytes,
            replay_entries,
            replay_bytes,
            log_lines_dropped,
            connections,
        }
    }

    /// The count of dropped log lines, for the log writer to keep.
    pub fn log_lines_dropped(&self) -> &Counter {
        &self.log_lines_dropped
    }

    /// The connection counts, for the HTTP server to keep.
    pub fn connections(&self) -> &ConnectionStats {
        &self.connections
    }

    /// Records one answered request on `route` (a label from the route table).
    pub fn observe_request(&self, route: Arc<str>, status: u16, elapsed: Duration) {
        self.latency.get_or_create(&RouteLabels { route: Arc::clone(&route) }).observe(elapsed.as_secs_f64());
        self.requests.get_or_create(&RequestLabels { route, status }).inc();
    }

    /// The request metrics of `route` (a label from the route table), for a request path that
    /// records every request of that route.
    pub fn route(self: &Arc<Self>, route: Arc<str>) -> RouteMetrics {
        RouteMetrics { metrics: Arc::clone(self), route, latency: OnceLock::new(), requests: Default::default() }
    }

    /// Records a refused request.
    pub fn observe_rejection(&self, reason: RejectionReason) {
        self.rejections.get_or_create(&ReasonLabels { reason: reason.as_str() }).inc();
    }

    /// The metrics in the Prometheus text format, with each issuer's key set age, the token
    /// cache's entries and bytes and the memory replay store's proofs and bytes as of now.
    pub fn render<'a>(
        &self,
        key_set_ages: impl IntoIterator<Item = (&'a str, Option<Duration>)>,
        cached_tokens: Usage,
        replay_store: Usage,
    ) -> String {
        for (issuer, age) in key_set_ages {
            let gauge = self.key_set_age.get_or_create(&IssuerLabels { issuer: issuer.into() });
            gauge.set(age.map_or(-1.0, |age| age.as_secs_f64()));
        }
        let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.cached_tokens.set(gauge(cached_tokens.entries));
        self.cached_token_bytes.set(gauge(cached_tokens.bytes));
        self.replay_entries.set(gauge(replay_store.entries));
        self.replay_bytes.set(gauge(replay_store.bytes));
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// The token path's events, counted.
impl AuthObserver for Metrics {
    fn verified(&self) {
        self.verified.inc();
    }

    fn full_check(&self, elapsed: Duration) {
        self.check_duration.observe(elapsed.as_secs_f64());
    }

    fn key_fetch(&self, issuer: &str, outcome: FetchOutcome) {
        let outcome = match outcome {
            FetchOutcome::Success => "success",
            FetchOutcome::Failure => "failure",
        };
        self.key_fetches.get_or_create(&OutcomeLabels { outcome, issuer: issuer.into() }).inc();
    }

    fn unknown_kid_refetch(&self, issuer: &str) {
        self.unknown_kid_refetches.get_or_create(&IssuerLabels { issuer: issuer.into() }).inc();
    }
}

/// The statuses whose request counter a [`RouteMetrics`] keeps at hand; the others are looked up
/// in the family each time.
const KEPT_STATUSES: [u16; 10] = [200, 201, 204, 400, 401, 403, 404, 405, 413, 503];

/// The request metrics of one route: what [`Metrics::observe_request`] records, with the
/// route's series kept at hand once they exist instead of hashing the labels on every request.
/// A series is still created by its first request, so `/metrics` lists only what was answered.
pub struct RouteMetrics {
    metrics: Arc<Metrics>,
    route: Arc<str>,
    latency: OnceLock<Histogram>,
    requests: [OnceLock<Counter>; KEPT_STATUSES.len()],
}

impl RouteMetrics {
    /// The route's label.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// Records one answered request.
    pub fn observe(&self, status: u16, elapsed: Duration) {
        let Some(kept) = KEPT_STATUSES.iter().position(|kept| *kept == status) else {
            self.metrics.observe_request(Arc::clone(&self.route), status, elapsed);
            return;
        };
        let latency = self.latency.get_or_init(|| {
            self.metrics.latency.get_or_create(&RouteLabels { route: Arc::clone(&self.route) }).clone()
        });
        latency.observe(elapsed.as_secs_f64());
        let requests = self.requests[kept].get_or_init(|| {
            self.metrics.requests.get_or_create(&RequestLabels { route: Arc::clone(&self.route), status }).clone()
        });
        requests.inc();
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// `GET /metrics`: the metrics, with each issuer's key set age, the token cache's entries and
/// bytes, and the memory replay store's proofs and bytes read from the resource server now.
pub struct MetricsEndpoint {
    metrics: Arc<Metrics>,
    server: Arc<ResourceServer>,
}

impl MetricsEndpoint {
    /// Serves `metrics`, with the state of `server`.
    pub fn new(metrics: Arc<Metrics>, server: Arc<ResourceServer>) -> Self {
        MetricsEndpoint { metrics, server }
    }
}

impl Endpoint for MetricsEndpoint {
    type Output = Response;

    async fn call(&self, _: Request) -> poem::Result<Response> {
        let verifier = self.server.verifier();
        let ages = verifier.issuers().iter().map(|issuer| (issuer.issuer(), issuer.key_store().health().age));
        let cached_tokens = verifier.token_cache_usage().unwrap_or_default();
        let replay_store = self.server.dpop().and_then(|dpop| dpop.replay_store().usage()).unwrap_or_default();
        let text = self.metrics.render(ages, cached_tokens, replay_store);
        Ok(Response::builder().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request series, in order (a family lists its series in no order).
    fn request_lines(metrics: &Metrics) -> Vec<String> {
        let text = metrics.render([], Usage::default(), Usage::default());
        let mut lines: Vec<String> =
            text.lines().filter(|line| line.starts_with("http_request")).map(str::to_owned).collect();
        lines.sort();
        lines
    }

    #[test]
    fn a_route_s_metrics_are_the_series_observe_request_records() {
        let kept = Arc::new(Metrics::new());
        let route = kept.route("/api/public".into());
        let looked_up = Metrics::new();
        assert!(request_lines(&kept).is_empty(), "no series before the first request");
        for (status, micros) in [(200, 40), (200, 900), (401, 70), (418, 5), (200, 3_000_000)] {
            route.observe(status, Duration::from_micros(micros));
            looked_up.observe_request("/api/public".into(), status, Duration::from_micros(micros));
        }
        assert_eq!(request_lines(&kept), request_lines(&looked_up));
        assert!(request_lines(&kept).iter().any(|line| line.contains("status=\"418\"")), "a status not kept at hand");
        assert_eq!(route.route(), "/api/public");
    }
}
