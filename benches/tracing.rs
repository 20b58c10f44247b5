//! Criterion benchmarks of what tracing adds to one request: the `request` span as the access-log
//! middleware makes it (created, entered once, its status recorded, closed), against no span at
//! all. Three subscribers, in this order:
//!
//! - `off`: the production subscriber with no OTLP endpoint (log lines at info, to a sink), the
//!   process's global subscriber, so its callsites are cached as they are in the service; the
//!   target is at most 0.1 µs over `no_span`;
//! - `unsampled_1pct`: with the exporter's layer and `parentbased_traceidratio` 0.01, a request
//!   without a `traceparent` (99 % of them are not recorded);
//! - `sampled`: `always_on`, every span recorded and queued for export (the export itself goes to
//!   a port where nothing listens, on the exporter's own thread).
//!
//! Run with `cargo bench --bench tracing`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use poem::http::{HeaderMap, Method};
use protected_api::telemetry::{
    TraceExport, TraceSampler, Traces,
    request_trace::{end_request_span, request_span},
};
use tracing_subscriber::{EnvFilter, Layer, Registry, fmt, layer::SubscriberExt};

fn one_request(headers: &HeaderMap) -> Option<String> {
    let (span, trace_id) = request_span(&Method::GET, "/api/private", "/api/private", "request-1", black_box(headers));
    if !span.is_disabled() {
        let _entered = span.enter();
    }
    end_request_span(&span, black_box(200));
    trace_id
}

/// The log lines' layer as the service installs it, writing to a sink.
fn log_lines() -> Box<dyn Layer<Registry> + Send + Sync> {
    fmt::layer().with_writer(std::io::sink).with_filter(EnvFilter::new("info")).boxed()
}

fn exporter(sampler: TraceSampler) -> Traces {
    let export = TraceExport {
        endpoint: url::Url::parse("http://127.0.0.1:9/v1/traces").unwrap(),
        service_name: "bench".to_owned(),
        sampler,
    };
    Traces::start(&export).expect("the exporter builds")
}

fn bench(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("request_tracing");
    group.bench_function("no_span", |b| b.iter(|| black_box(&headers)));
    tracing::subscriber::set_global_default(Registry::default().with(log_lines())).expect("the only subscriber");
    group.bench_function("off", |b| b.iter(|| one_request(&headers)));
    for (name, sampler) in [
        ("unsampled_1pct", TraceSampler::ParentBased(Box::new(TraceSampler::Ratio(0.01)))),
        ("sampled", TraceSampler::AlwaysOn),
    ] {
        let traces = exporter(sampler);
        let subscriber = Registry::default().with(vec![log_lines(), traces.layer().boxed()]);
        tracing::subscriber::with_default(subscriber, || {
            group.bench_function(name, |b| b.iter(|| one_request(&headers)));
        });
        traces.shutdown_within(std::time::Duration::from_millis(100));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
