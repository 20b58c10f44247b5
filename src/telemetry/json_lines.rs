//! The JSON log line: one object per event, written straight into the line buffer — no map of
//! fields, no intermediate strings — in the shape tracing-subscriber's flattened JSON has:
//! `{"timestamp":"…","level":"INFO","message":"…",<fields>,"span":{"name":"…",<fields>}}`.
//!
//! Every line passes through here, so it is the cost a busy service pays per request for its
//! access line; tracing-subscriber's own JSON formatter costs about twice as much per line.

use std::{
    fmt::{self, Write as _},
    time::SystemTime,
};

use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, format::Writer},
    registry::LookupSpan,
};

/// Formats events as flattened JSON objects, one per line.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        write!(writer, "{{\"timestamp\":\"{}\",\"level\":\"", humantime::format_rfc3339_micros(SystemTime::now()))?;
        writer.write_str(event.metadata().level().as_str())?;
        writer.write_char('"')?;
        let mut fields = JsonFieldWriter { out: &mut writer, result: Ok(()) };
        event.record(&mut fields);
        fields.result?;
        if let Some(span) = ctx.lookup_current() {
            writer.write_str(",\"span\":{\"name\":")?;
            write_json_str(&mut writer, span.name())?;
            let extensions = span.extensions();
            // The span's fields, formatted by `JsonFields` as an object when the span opened.
            let inner = extensions
                .get::<FormattedFields<N>>()
                .and_then(|fields| fields.fields.strip_prefix('{')?.strip_suffix('}'))
                .filter(|inner| !inner.is_empty());
            if let Some(inner) = inner {
                writer.write_char(',')?;
                writer.write_str(inner)?;
            }
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

/// Writes each field as `,"name":value`.
struct JsonFieldWriter<'a, 'w> {
    out: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl JsonFieldWriter<'_, '_> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = (|| {
                self.out.write_char(',')?;
                write_json_str(self.out, field.name())?;
                self.out.write_char(':')?;
                value(self.out)
            })();
        }
    }
}

impl Visit for JsonFieldWriter<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |out| write_json_str(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |out| out.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |out| out.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |out| out.write_str(if value { "true" } else { "false" }));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.field(field, |out| write!(out, "{value}"));
        } else {
            self.field(field, |out| write_json_str(out, &value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |out| {
            out.write_char('"')?;
            write!(Escaping(out), "{value:?}")?;
            out.write_char('"')
        });
    }
}

/// A JSON string: quoted, with `"`, `\` and control characters escaped.
fn write_json_str(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaping(out).write_str(text)?;
    out.write_char('"')
}

/// Escapes what is written through it for the inside of a JSON string.
struct Escaping<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain_from = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escaped = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..0x20 | 0x7f => "",
                _ => continue,
            };
            self.0.write_str(&text[plain_from..at])?;
            if escaped.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escaped)?;
            }
            plain_from = at + 1;
        }
        self.0.write_str(&text[plain_from..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        write_json_str(&mut out, text).unwrap();
        out
    }

    #[test]
    fn strings_are_escaped_as_json_parses_them() {
        for text in ["plain", "a \"quote\" and \\", "line\nbreak\ttab\r", "\u{1}\u{1f}\u{7f}", "é ☃ 😀", ""] {
            let json = escaped(text);
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text, "{json}");
        }
        let mut out = String::new();
        write!(Escaping(&mut out), "{:?}", "q\"").unwrap();
        assert_eq!(out, r#"\"q\\\"\""#);
    }
}
