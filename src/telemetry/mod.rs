//! Logging and tracing: the subscriber, its JSON lines ([`json_lines`]) or text fields
//! ([`text_fields`]) and its writer ([`log_writer`]), one access line per request with the
//! request metrics and the request's span ([`request_trace`]), and the OpenTelemetry exporter
//! ([`traces`]).

pub mod json_lines;
pub mod log_writer;
pub mod request_trace;
pub mod text_fields;
pub mod traces;

use std::io::IsTerminal;

use serde::Deserialize;
use tracing_subscriber::{
    EnvFilter, Layer, Registry, fmt, fmt::format::JsonFields, layer::SubscriberExt, util::SubscriberInitExt,
};

pub use log_writer::{LogGuard, WhenFull};
pub use request_trace::{REQUEST_ID_HEADER, RequestTrace};
pub use traces::{TraceExport, TraceSampler, Traces};

/// Format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber: `RUST_LOG` filters (default `info`), `format` shapes lines,
/// and lines go to stdout through the batching writer, which does `when_full` when stdout does
/// not keep up; with `traces`, the request path's spans go to its exporter too. Keep the guard
/// until the process ends: dropping it writes out every line still buffered. `None` when a
/// subscriber is already installed.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat, when_full: WhenFull, traces: Option<&Traces>) -> Option<LogGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = log_writer::buffered_stdout(when_full, format);
    let lines = fmt::layer().with_writer(writer);
    let lines = match format {
        LogFormat::Text => lines
            .fmt_fields(text_fields::EscapedFields)
            .with_target(false)
            .with_ansi(std::io::stdout().is_terminal())
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => {
            lines.fmt_fields(JsonFields::new()).event_format(json_lines::JsonLines).with_filter(filter).boxed()
        }
    };
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = vec![lines];
    if let Some(traces) = traces {
        layers.push(traces.layer().boxed());
    }
    let installed = Registry::default().with(layers).try_init();
    installed.ok().map(|()| {
        guard.install();
        guard
    })
}
