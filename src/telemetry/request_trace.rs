//! One access line per request ([`access_line`](super::access_line)), the request metrics, and
//! `x-request-id` on every response.
//!
//! The access line carries the request id itself, and the trace id when traces are exported. The
//! `request` span, which gives the request id to events logged while the request runs and is
//! the server span of an exported trace (HTTP semantic conventions, the parent a `traceparent`
//! names), is a debug span: at the default level, with no trace exporter, it costs nothing, not
//! even a wrapper around the request's future.
//!
//! With `log_when_full = wait`, a request waits for room in the log buffer before its access line
//! (an await, never a blocked thread); the probes' access lines never wait.

use std::{sync::Arc, time::Instant};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderMap, HeaderName, HeaderValue, Method},
};
use tracing::Instrument;

use super::{
    access_line::AccessLine,
    log_writer::{past_the_cap, room_for_a_line},
    traces,
};
use poem_jwt_resource_server::Refused;

use crate::{
    http::{RouteTable, route_table::UNMATCHED},
    metrics::{Metrics, RouteMetrics},
};

/// The header carrying the request id, in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// [`REQUEST_ID_HEADER`] as a header name, so inserting it parses and allocates nothing.
const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// Middleware: a `request` span (debug) holding the request id, the access line, the request metrics
/// labelled by `routes`, and the request id echoed on every response, errors included.
#[derive(Clone)]
pub struct RequestTrace {
    metrics: Arc<Metrics>,
    routes: Arc<RouteTable>,
    /// The metrics of each route of `routes`, in its order, then of the unmatched paths.
    route_metrics: Arc<[RouteMetrics]>,
    probes: Arc<[&'static str]>,
}

impl RequestTrace {
    /// Records requests into `metrics`, labelled by the paths of `routes`; the access lines of
    /// `probes` (paths) never wait for room in the log buffer.
    pub fn new(metrics: Arc<Metrics>, routes: Arc<RouteTable>, probes: &[&'static str]) -> Self {
        let labels = routes.templates().chain([UNMATCHED]);
        let route_metrics = labels.map(|label| metrics.route(label.into())).collect();
        RequestTrace { metrics, routes, route_metrics, probes: probes.into() }
    }
}

impl<E: Endpoint> Middleware<E> for RequestTrace {
    type Output = RequestTraceEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestTraceEndpoint { inner, trace: self.clone() }
    }
}

/// The endpoint produced by [`RequestTrace`].
pub struct RequestTraceEndpoint<E> {
    inner: E,
    trace: RequestTrace,
}

impl<E: Endpoint> Endpoint for RequestTraceEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let request_id = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .filter(|value| is_acceptable_id(value.as_bytes()))
            .cloned()
            .unwrap_or_else(new_request_id);
        let id = request_id.to_str().unwrap_or_default();
        let unmatched = self.trace.route_metrics.len() - 1;
        let route_metrics =
            &self.trace.route_metrics[self.trace.routes.position(req.uri().path()).unwrap_or(unmatched)];
        let route = route_metrics.route();
        let (method, uri) = (req.method().clone(), req.uri().clone());
        let (span, trace_id) = request_span(&method, route, uri.path(), id, req.headers());
        let started = Instant::now();
        let result = if span.is_disabled() {
            self.inner.call(req).await
        } else {
            self.inner.call(req).instrument(span.clone()).await
        };
        let mut response = match result {
            Ok(response) => response.into_response(),
            Err(error) => error.into_response(),
        };
        let elapsed = started.elapsed();
        let status = response.status().as_u16();
        end_request_span(&span, status);
        let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let refusal = response.extensions().get::<Refused>().map(|Refused(refusal)| refusal);
        if let Some(refusal) = refusal {
            self.trace.metrics.observe_rejection(refusal.reason());
        }
        let line = AccessLine {
            method: method.as_str(),
            path: uri.path(),
            status,
            latency_us,
            request_id: id,
            trace_id: trace_id.as_deref(),
            refusal,
        };
        if self.trace.probes.contains(&uri.path()) {
            past_the_cap(|| line.log());
        } else {
            room_for_a_line().await;
            line.log();
        }
        route_metrics.observe(status, elapsed);
        response.headers_mut().insert(REQUEST_ID, request_id);
        Ok(response)
    }
}

/// The `request` span (debug) of a request to `route` (its label in the route table), the
/// server span of an exported trace, continuing the trace a `traceparent` in `headers` names; and
/// its trace id when it is exported. With no exporter and `RUST_LOG` at info, the span is
/// disabled and nothing else is done.
pub fn request_span(
    method: &Method,
    route: &str,
    path: &str,
    request_id: &str,
    headers: &HeaderMap,
) -> (tracing::Span, Option<String>) {
    let span = tracing::debug_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = method.as_str(),
        http.route = route,
        url.path = path,
        url.scheme = "http",
        http.response.status_code = tracing::field::Empty,
        request_id,
    );
    if span.is_disabled() {
        return (span, None);
    }
    traces::continue_trace(&span, headers);
    let trace_id = traces::trace_id(&span);
    (span, trace_id)
}

/// Records the answer's `status` on the request's span: an error from 500 on.
pub fn end_request_span(span: &tracing::Span, status: u16) {
    if span.is_disabled() {
        return;
    }
    span.record("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}

/// A new request id: a random UUID.
fn new_request_id() -> HeaderValue {
    let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(id).expect("a UUID is a valid header value")
}

/// A caller's request id is reused when it is 1 to 128 characters of `A-Za-z0-9._-`.
fn is_acceptable_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
