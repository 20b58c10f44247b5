//! Logging and tracing: the subscriber, its JSON lines ([`json_lines`]) or text fields
//! ([`text_fields`]) and its writer ([`log_writer`]), the request metrics, id and span of every
//! request ([`request_trace`]) and its access line ([`access_line`]), and the OpenTelemetry
//! exporter ([`traces`]).

pub mod access_line;
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
    let installed = match traces {
        // Without traces, the filter is global: every callsite's interest is decided once.
        None => {
            let builder = fmt().with_env_filter(filter).with_writer(writer);
            match format {
                LogFormat::Text => builder
                    .fmt_fields(text_fields::EscapedFields)
                    .with_target(false)
                    .with_ansi(std::io::stdout().is_terminal())
                    .try_init()
                    .is_ok(),
                LogFormat::Json => {
                    builder.fmt_fields(JsonFields::new()).event_format(json_lines::JsonLines).try_init().is_ok()
                }
            }
        }
        // With traces, the lines keep their filter and the exporter's layer sees the request
        // path's spans, whatever the log level.
        Some(traces) => {
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
            Registry::default().with(vec![lines, traces.layer().boxed()]).try_init().is_ok()
        }
    };
    installed.then(|| {
        guard.install();
        guard
    })
}
