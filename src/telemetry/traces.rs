//! OpenTelemetry traces, exported over OTLP/HTTP (protobuf) when an endpoint is configured (the
//! standard `OTEL_*` variables, which the settings read).
//!
//! The spans are the `tracing` spans of the request path, all at debug level: `request` (the
//! server span, HTTP semantic conventions), `verify_token`, `fetch_keys` with its
//! `discover_keys_url` and `http_get` client spans, and the DPoP replay store's `redis` span.
//! Only the exporter's layer enables them at the default log level, so with no endpoint the
//! subscriber has no such layer and each span costs one disabled-callsite check. A W3C
//! `traceparent` on a request becomes its parent, and key fetches carry the current one.
//! Spans never hold a token, a proof, or a claim value.

use std::time::Duration;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracerProvider},
};
use poem::http::{HeaderMap, HeaderName, HeaderValue};
use tracing::{Metadata, subscriber::Interest};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    Layer, Registry,
    filter::LevelFilter,
    layer::{Context as LayerContext, Filter},
};

/// Where and what to export, as the `OTEL_*` variables say.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceExport {
    /// The full URL spans are posted to (`…/v1/traces`).
    pub endpoint: url::Url,
    /// `service.name` of the resource.
    pub service_name: String,
    /// Which traces are recorded.
    pub sampler: TraceSampler,
}

/// The samplers of `OTEL_TRACES_SAMPLER`.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceSampler {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio`: this share of traces, by trace id.
    Ratio(f64),
    /// `parentbased_*`: the caller's decision when a `traceparent` carries one, else the inner.
    ParentBased(Box<TraceSampler>),
}

impl TraceSampler {
    fn sdk(&self) -> Sampler {
        match self {
            TraceSampler::AlwaysOn => Sampler::AlwaysOn,
            TraceSampler::AlwaysOff => Sampler::AlwaysOff,
            TraceSampler::Ratio(ratio) => Sampler::TraceIdRatioBased(*ratio),
            TraceSampler::ParentBased(root) => Sampler::ParentBased(Box::new(root.sdk())),
        }
    }
}

/// The running exporter; [`shutdown_within`](Self::shutdown_within) sends what is left.
pub struct Traces {
    provider: SdkTracerProvider,
}

/// Why traces could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the OTLP trace exporter: {0}")]
pub struct TracesError(String);

impl Traces {
    /// Builds the exporter and its batch processor (a thread of their own; the batch size, queue
    /// and delay follow `OTEL_BSP_*`, headers and timeout `OTEL_EXPORTER_OTLP_*`, as in every
    /// SDK). Call it outside the async runtime: the exporter's HTTP client is a blocking one.
    pub fn start(export: &TraceExport) -> Result<Self, TracesError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(export.endpoint.as_str())
            .build()
            .map_err(|error| TracesError(error.to_string()))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(export.sampler.sdk())
            .with_resource(Resource::builder_empty().with_service_name(export.service_name.clone()).build())
            .build();
        Ok(Traces { provider })
    }

    /// The layer that turns the request path's spans into OpenTelemetry spans; it sees spans
    /// only, never log events.
    pub fn layer(&self) -> impl Layer<Registry> + Send + Sync + 'static {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer(env!("CARGO_PKG_NAME")))
            .with_location(false)
            .with_threads(false)
            .with_level(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_filter(RequestPathSpans)
    }

    /// Exports the spans still queued, for at most `bound`. Call it outside the async runtime.
    pub fn shutdown_within(self, bound: Duration) {
        if let Err(error) = self.provider.shutdown_with_timeout(bound) {
            eprintln!("traces: the last spans were not all exported: {error}");
        }
    }
}

/// The crates whose spans are exported.
const TRACED_CRATES: &[&str] = &["protected_api", "jwt_resource_server", "poem_jwt_resource_server"];

/// The exporter's filter: the spans of the request path (this service's and its token crates'),
/// never an event, never a library's span. Decided once per callsite, so nothing else pays.
struct RequestPathSpans;

impl RequestPathSpans {
    fn wants(metadata: &Metadata<'_>) -> bool {
        metadata.is_span()
            && TRACED_CRATES.iter().any(|name| {
                metadata.target().strip_prefix(name).is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
    }
}

impl<S> Filter<S> for RequestPathSpans {
    fn enabled(&self, metadata: &Metadata<'_>, _: &LayerContext<'_, S>) -> bool {
        Self::wants(metadata)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if Self::wants(metadata) { Interest::always() } else { Interest::never() }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::DEBUG)
    }
}

/// Makes `span` the child of the trace a W3C `traceparent` in `headers` names, if any.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    if headers.contains_key("traceparent") {
        let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        let _ = span.set_parent(parent);
    }
}

/// The trace id of `span` (32 hex digits), when it is part of a trace.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}

/// The `traceparent` (and `tracestate`) of the current span, for an outgoing request.
pub fn outgoing_headers() -> Vec<(HeaderName, HeaderValue)> {
    let context: Context = tracing::Span::current().context();
    let mut headers = Vec::new();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(&mut headers));
    headers
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut Vec<(HeaderName, HeaderValue)>);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.push((name, value));
        }
    }
}
