//! Logging: the subscriber, and one span per request with its id, status and latency, which
//! also feeds the request metrics.

use std::{io::IsTerminal, sync::Arc, time::Instant};

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::HeaderValue};
use tracing::Instrument;
use tracing_subscriber::{EnvFilter, fmt};

use crate::{
    auth::Refusal,
    metrics::{Metrics, route_label},
    settings::LogFormat,
};

/// The header carrying the request id, in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Installs the global subscriber: `RUST_LOG` filters (default `info`), `format` shapes lines.
/// Does nothing when a subscriber is already installed.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(false).with_ansi(std::io::stdout().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}

/// Middleware: a `request` span (method, path, request id), a log line with status and latency,
/// refusals logged with their reason (never the token), request metrics, and the request id
/// echoed in `x-request-id` on every response, errors included.
#[derive(Clone)]
pub struct RequestTrace {
    metrics: Arc<Metrics>,
}

impl RequestTrace {
    /// Records requests into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        RequestTrace { metrics }
    }
}

impl<E: Endpoint> Middleware<E> for RequestTrace {
    type Output = RequestTraceEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestTraceEndpoint { inner, metrics: Arc::clone(&self.metrics) }
    }
}

/// The endpoint produced by [`RequestTrace`].
pub struct RequestTraceEndpoint<E> {
    inner: E,
    metrics: Arc<Metrics>,
}

impl<E: Endpoint> Endpoint for RequestTraceEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let request_id = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .filter(|value| is_acceptable_id(value.as_bytes()))
            .cloned()
            .unwrap_or_else(|| {
                HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid header value")
            });
        let route = route_label(req.uri().path());
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            path = %req.uri().path(),
            request_id = %request_id.to_str().unwrap_or_default(),
        );
        let started = Instant::now();
        let mut response = match self.inner.call(req).instrument(span.clone()).await {
            Ok(response) => response.into_response(),
            Err(error) => error.into_response(),
        };
        let elapsed = started.elapsed();
        let status = response.status().as_u16();
        span.in_scope(|| {
            if let Some(Refusal(refusal)) = response.extensions().get::<Refusal>() {
                self.metrics.observe_rejection(refusal.reason());
                tracing::info!(reason = refusal.reason().as_str(), description = %refusal, "request refused");
            }
            tracing::info!(status, latency_us = elapsed.as_micros() as u64, "response");
        });
        self.metrics.observe_request(route, status, elapsed);
        response.headers_mut().insert(REQUEST_ID_HEADER, request_id);
        Ok(response)
    }
}

/// A caller's request id is reused when it is 1 to 128 characters of `A-Za-z0-9._-`.
fn is_acceptable_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
