//! Logging: the subscriber, its JSON lines ([`json_lines`]) or text fields ([`text_fields`]) and
//! its writer ([`log_writer`]), and one access line per request with the request metrics
//! ([`request_trace`]).

pub mod json_lines;
pub mod log_writer;
pub mod request_trace;
pub mod text_fields;

use std::io::IsTerminal;

use serde::Deserialize;
use tracing_subscriber::{EnvFilter, fmt, fmt::format::JsonFields};

pub use log_writer::{LogGuard, WhenFull};
pub use request_trace::{REQUEST_ID_HEADER, RequestTrace};

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
/// not keep up. Keep the guard until the process ends: dropping it writes out every line still
/// buffered. `None` when a subscriber is already installed.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat, when_full: WhenFull) -> Option<LogGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = log_writer::buffered_stdout(when_full, format);
    let builder = fmt().with_env_filter(filter).with_writer(writer);
    let installed = match format {
        LogFormat::Text => builder
            .fmt_fields(text_fields::EscapedFields)
            .with_target(false)
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        LogFormat::Json => builder.fmt_fields(JsonFields::new()).event_format(json_lines::JsonLines).try_init(),
    };
    installed.ok().map(|()| {
        guard.install();
        guard
    })
}
