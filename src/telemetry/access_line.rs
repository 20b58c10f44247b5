//! The access line: one per request, at info — method, path, status, latency, request id, the
//! trace id when traces are exported and, for a refusal, its reason and description (never the
//! token).
//!
//! With JSON lines, the line is formatted straight from these values into the log buffer,
//! byte for byte the line a `tracing` event with the same fields gets from
//! [`JsonLines`](super::json_lines::JsonLines), and only when that event would be logged:
//! `RUST_LOG` decides, as for any event. The event's dispatch and the visit of its fields were
//! 40 % of the line's cost. Text lines, and a line logged inside a span (whose fields a JSON line
//! carries), go through the event.

use jwt_resource_server::AuthError;
use tracing::Level;

use super::{
    json_lines::{FieldValue, write_event_line},
    log_writer::installed_json_writer,
};

/// What the access line of one request says.
pub struct AccessLine<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The request's path, without the query.
    pub path: &'a str,
    /// The answer's status.
    pub status: u16,
    /// Microseconds from the request's head to its answer.
    pub latency_us: u64,
    /// The request id, as echoed in `x-request-id`.
    pub request_id: &'a str,
    /// The trace id, when the request's trace is exported.
    pub trace_id: Option<&'a str>,
    /// Why the request was refused, when it was.
    pub refusal: Option<&'a AuthError>,
}

/// The message of every access line.
const MESSAGE: &str = "response";

impl AccessLine<'_> {
    /// Logs the line, if `RUST_LOG` lets an info event of this module through.
    pub fn log(&self) {
        if !tracing::enabled!(Level::INFO) {
            return;
        }
        match installed_json_writer().filter(|_| tracing::Span::current().is_none()) {
            Some(append) => self.write(append),
            None => self.event(),
        }
    }

    fn write(&self, append: impl FnOnce(&str)) {
        let fields = [
            ("method", Some(FieldValue::Str(self.method))),
            ("path", Some(FieldValue::Str(self.path))),
            ("status", Some(FieldValue::U64(u64::from(self.status)))),
            ("latency_us", Some(FieldValue::U64(self.latency_us))),
            ("request_id", Some(FieldValue::Str(self.request_id))),
            ("trace_id", self.trace_id.map(FieldValue::Str)),
            ("reason", self.refusal.map(|refusal| FieldValue::Str(refusal.reason().as_str()))),
            ("description", self.refusal.map(|refusal| FieldValue::Display(refusal))),
        ];
        // A line that cannot be formatted (a value's Display failing) is not logged, as the
        // subscriber drops an event it cannot format.
        let _ = write_event_line(&Level::INFO, MESSAGE, &fields, append);
    }

    /// The same line as a `tracing` event: the fields in the same order.
    fn event(&self) {
        tracing::info!(
            method = self.method,
            path = self.path,
            status = self.status,
            latency_us = self.latency_us,
            request_id = self.request_id,
            trace_id = self.trace_id,
            reason = self.refusal.map(|refusal| refusal.reason().as_str()),
            description = self.refusal.map(tracing::field::display),
            "{MESSAGE}"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
        time::Duration,
    };

    use tracing_subscriber::fmt::{MakeWriter, format::JsonFields};

    use super::*;
    use crate::telemetry::json_lines::JsonLines;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// The line without the value of its timestamp, which differs by the microseconds between
    /// two lines.
    fn untimed(line: &str) -> String {
        let value = line.strip_prefix("{\"timestamp\":\"").expect("a timestamp first");
        assert_eq!(value.as_bytes()[27], b'"', "{line}");
        value[28..].to_owned()
    }

    #[test]
    fn the_written_line_is_the_line_of_the_event() {
        let refusal = AuthError::KeysUnavailable { retry_after: Duration::from_secs(5) };
        let lines = [
            AccessLine {
                method: "GET",
                path: "/api/public",
                status: 200,
                latency_us: 17,
                request_id: "0f4e5a4c-8a41-4d3b-9b1e-3c2f9d8e7a6b",
                trace_id: None,
                refusal: None,
            },
            AccessLine {
                method: "POST",
                path: "/a\"b\\c\u{1}é",
                status: 503,
                latency_us: u64::MAX,
                request_id: "id",
                trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736"),
                refusal: Some(&refusal),
            },
        ];
        for line in &lines {
            let captured = Captured::default();
            let subscriber = tracing_subscriber::fmt()
                .fmt_fields(JsonFields::new())
                .event_format(JsonLines)
                .with_writer(captured.clone())
                .finish();
            tracing::subscriber::with_default(subscriber, || line.event());
            let mut written = String::new();
            line.write(|text| written.push_str(text));
            let event = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            assert_eq!(untimed(&written), untimed(&event));
            assert!(written.ends_with("}\n") && written.matches('\n').count() == 1);
            let parsed: serde_json::Value = serde_json::from_str(&written).unwrap();
            assert_eq!(parsed["path"], line.path);
        }
    }
}
