//! The JSON log line: one object per event, written straight into the line buffer — no map of
//! fields, no intermediate strings — in the shape tracing-subscriber's flattened JSON has:
//! `{"timestamp":"…","level":"INFO","message":"…",<fields>,"span":{"name":"…",<fields>}}`.
//!
//! Every line passes through here, so it is the cost a busy service pays per request for its
//! access line: the line is built in a reused buffer of the thread and handed to the writer
//! once, the timestamp's date and time are formatted once a second, and strings are scanned for
//! what must be escaped eight bytes at a time.

use std::{
    cell::RefCell,
    fmt::{self, Write as _},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tracing::{
    Event, Level, Subscriber,
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
        in_line_buffer(|line| write_line(line, ctx, event), |line| writer.write_str(line))
            .unwrap_or_else(|| write_line(&mut writer, ctx, event))
    }
}

/// Formats with `format` into the thread's line buffer and hands the line to `write`; `None`
/// when the buffer is taken (a line logged while another of this thread is being formatted).
fn in_line_buffer(
    format: impl FnOnce(&mut String) -> fmt::Result,
    write: impl FnOnce(&str) -> fmt::Result,
) -> Option<fmt::Result> {
    LINE.with(|line| {
        let mut line = line.try_borrow_mut().ok()?;
        line.clear();
        let written = format(&mut line).and_then(|()| write(&line));
        // An exceptionally long line does not keep its room for the thread's life.
        line.shrink_to(KEPT_LINE_BYTES);
        Some(written)
    })
}

/// The value of a field of a line written without a tracing event ([`write_event_line`]).
#[derive(Clone, Copy)]
pub enum FieldValue<'a> {
    /// A string, as `tracing` records a `&str`.
    Str(&'a str),
    /// A number, as `tracing` records an unsigned integer.
    U64(u64),
    /// A value recorded with `tracing::field::display`.
    Display(&'a dyn fmt::Display),
}

/// Writes the line [`JsonLines`] writes for an event at `level` with `message` and `fields` (named
/// by identifiers, in the order given, `None` ones left out as `tracing` leaves out an empty `Option`)
/// logged outside any span, and hands it to `write`. For the access line, which a busy service
/// writes once per request: the same bytes without the event's dispatch and field visits.
pub fn write_event_line(
    level: &Level,
    message: &str,
    fields: &[(&str, Option<FieldValue<'_>>)],
    write: impl FnOnce(&str),
) -> fmt::Result {
    let format = |out: &mut String| {
        write_head(out, level)?;
        out.write_str(",\"message\":")?;
        write_json_str(out, message)?;
        for (name, value) in fields {
            let Some(value) = value else { continue };
            // The names are the caller's identifiers: nothing in them to escape.
            debug_assert!(first_to_escape(name.as_bytes()).is_none(), "{name}");
            out.write_str(",\"")?;
            out.write_str(name)?;
            out.write_str("\":")?;
            match value {
                FieldValue::Str(text) => write_json_str(out, text)?,
                FieldValue::U64(number) => write_u64(out, *number)?,
                FieldValue::Display(value) => write_display(out, value)?,
            }
        }
        out.write_str("}\n")
    };
    let mut write = Some(write);
    let mut hand_over = |line: &str| {
        if let Some(write) = write.take() {
            write(line);
        }
        Ok(())
    };
    match in_line_buffer(format, &mut hand_over) {
        Some(result) => result,
        None => {
            let mut line = String::new();
            format(&mut line)?;
            hand_over(&line)
        }
    }
}

/// The room a thread keeps for its next line.
const KEPT_LINE_BYTES: usize = 4096;

thread_local! {
    /// The line being formatted: reused, so a line costs no allocation once it has grown.
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
    /// The second of the last timestamp, and its date and time as RFC 3339 text.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

fn write_line<S, N>(out: &mut impl fmt::Write, ctx: &FmtContext<'_, S, N>, event: &Event<'_>) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    write_head(out, event.metadata().level())?;
    let mut fields = JsonFieldWriter { out: &mut *out, result: Ok(()) };
    event.record(&mut fields);
    fields.result?;
    if let Some(span) = ctx.lookup_current() {
        out.write_str(",\"span\":{\"name\":")?;
        write_json_str(out, span.name())?;
        let extensions = span.extensions();
        // The span's fields, formatted by `JsonFields` as an object when the span opened.
        let inner = extensions
            .get::<FormattedFields<N>>()
            .and_then(|fields| fields.fields.strip_prefix('{')?.strip_suffix('}'))
            .filter(|inner| !inner.is_empty());
        if let Some(inner) = inner {
            out.write_str(",")?;
            out.write_str(inner)?;
        }
        out.write_str("}")?;
    }
    out.write_str("}\n")
}

/// `{"timestamp":"…","level":"…"`: what every line starts with.
fn write_head(out: &mut impl fmt::Write, level: &Level) -> fmt::Result {
    out.write_str("{\"timestamp\":\"")?;
    write_timestamp(out, SystemTime::now())?;
    out.write_str("\",\"level\":\"")?;
    out.write_str(level.as_str())?;
    out.write_str("\"")
}

/// `,"name":value`, the value written by `value`.
fn write_field<W: fmt::Write>(out: &mut W, name: &str, value: impl FnOnce(&mut W) -> fmt::Result) -> fmt::Result {
    out.write_str(",")?;
    write_json_str(out, name)?;
    out.write_str(":")?;
    value(out)
}

fn write_u64(out: &mut impl fmt::Write, value: u64) -> fmt::Result {
    out.write_str(itoa::Buffer::new().format(value))
}

/// A value's `Debug` text as a JSON string, as `tracing` hands over what it records with
/// `display` and the message.
fn write_debug(out: &mut impl fmt::Write, value: &dyn fmt::Debug) -> fmt::Result {
    out.write_str("\"")?;
    write!(Escaping(out), "{value:?}")?;
    out.write_str("\"")
}

/// A value's `Display` text as a JSON string: what [`write_debug`] writes for the value recorded
/// with `tracing::field::display`.
fn write_display(out: &mut impl fmt::Write, value: &dyn fmt::Display) -> fmt::Result {
    out.write_str("\"")?;
    write!(Escaping(out), "{value}")?;
    out.write_str("\"")
}

/// `now` as RFC 3339 in UTC with microseconds, as `humantime::format_rfc3339_micros` writes it.
fn write_timestamp(out: &mut impl fmt::Write, now: SystemTime) -> fmt::Result {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let second = since_epoch.as_secs();
    SECOND.with_borrow_mut(|(cached, date_time)| {
        if *cached != second {
            // "YYYY-MM-DDTHH:MM:SSZ": the date and time, without the zone.
            let formatted = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(second)).to_string();
            date_time.clear();
            date_time.push_str(formatted.get(..19).unwrap_or_default());
            *cached = second;
        }
        out.write_str(date_time)
    })?;
    out.write_char('.')?;
    let micros = since_epoch.subsec_micros();
    for power in [100_000, 10_000, 1_000, 100, 10, 1] {
        out.write_char(char::from(b'0' + (micros / power % 10) as u8))?;
    }
    out.write_char('Z')
}

/// Writes each field as `,"name":value`.
struct JsonFieldWriter<'a, W: fmt::Write> {
    out: &'a mut W,
    result: fmt::Result,
}

impl<W: fmt::Write> JsonFieldWriter<'_, W> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = write_field(self.out, field.name(), value);
        }
    }
}

impl<W: fmt::Write> Visit for JsonFieldWriter<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |out| write_json_str(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |out| write_u64(out, value));
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
        self.field(field, |out| write_debug(out, value));
    }
}

/// A JSON string: quoted, with `"`, `\` and control characters escaped.
fn write_json_str(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_str("\"")?;
    Escaping(out).write_str(text)?;
    out.write_str("\"")
}

/// Whether `byte` must be escaped inside a JSON string: `"`, `\`, a control character or DEL.
fn must_escape(byte: u8) -> bool {
    byte < 0x20 || matches!(byte, b'"' | b'\\' | 0x7f)
}

/// Where the first byte of `bytes` that must be escaped is. Eight bytes at a time, the last few
/// padded with spaces: a word with none of them is passed over with a few arithmetic operations,
/// one with any is looked at byte by byte.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether a byte of `word` is below `n` (n <= 0x80): exact, as the classic bit trick is.
    let any_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0;
    let any_equal = |word: u64, byte: u8| any_below(word ^ (ONES * u64::from(byte)), 1);
    let needs_escape =
        |word: u64| any_below(word, 0x20) || any_equal(word, b'"') || any_equal(word, b'\\') || any_equal(word, 0x7f);
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    let mut at = 0;
    for chunk in chunks {
        if needs_escape(u64::from_ne_bytes(chunk.try_into().expect("a chunk of eight bytes"))) {
            return chunk.iter().position(|&byte| must_escape(byte)).map(|offset| at + offset);
        }
        at += 8;
    }
    let mut padded = [b' '; 8];
    padded[..tail.len()].copy_from_slice(tail);
    if needs_escape(u64::from_ne_bytes(padded)) {
        return tail.iter().position(|&byte| must_escape(byte)).map(|offset| at + offset);
    }
    None
}

/// Escapes what is written through it for the inside of a JSON string.
struct Escaping<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain_from = 0;
        while let Some(offset) = first_to_escape(&text.as_bytes()[plain_from..]) {
            let at = plain_from + offset;
            let byte = text.as_bytes()[at];
            let escaped = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                _ => "",
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

    #[test]
    fn every_byte_to_escape_is_found_wherever_it_falls_in_a_word() {
        let plain = "abcdefghijklmnopqrstuvwxyz-é☃0123";
        for special in ['"', '\\', '\n', '\u{0}', '\u{1f}', '\u{7f}'] {
            for at in 0..plain.len() {
                if !plain.is_char_boundary(at) {
                    continue;
                }
                let text = format!("{}{special}{}", &plain[..at], &plain[at..]);
                assert_eq!(first_to_escape(text.as_bytes()), Some(at), "{text:?}");
                assert_eq!(serde_json::from_str::<String>(&escaped(&text)).unwrap(), text);
            }
        }
        assert_eq!(first_to_escape(plain.as_bytes()), None);
        assert_eq!(first_to_escape("\u{80}\u{ff} ~!#".as_bytes()), None, "above DEL and the printable edges");
    }

    #[test]
    fn timestamps_are_written_as_humantime_writes_them() {
        for micros in [0, 1, 999_999, 1_764_748_291_268_158, 1_764_748_291_999_999, 1_764_748_292_000_001] {
            let at = UNIX_EPOCH + Duration::from_micros(micros);
            let mut out = String::new();
            write_timestamp(&mut out, at).unwrap();
            assert_eq!(out, humantime::format_rfc3339_micros(at).to_string());
        }
    }
}
