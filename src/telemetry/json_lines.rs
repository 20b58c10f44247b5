//! The JSON log line: one object per event, written straight into the line buffer — no map of
//! fields, no intermediate strings — in the shape tracing-subscriber's flattened JSON has:
//! `{"timestamp":"…","level":"INFO","message":"…",<fields>,"span":{"name":"…",<fields>}}`.
//!
//! Every line passes through here, so it is the cost a busy service pays per request for its
//! access line: the line is built in a reused buffer of the thread and handed to the writer
//! once, the timestamp's date and time are formatted once a second, and strings are scanned for
//! what must be escaped eight bytes at a time.

use std::{
    cell::{Cell, RefCell},
    fmt::{self, Write as _},
    time::{Duration, SystemTime, UNIX_EPOCH},
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
        LINE.with(|line| match line.try_borrow_mut() {
            Ok(mut line) => {
                line.clear();
                write_line(&mut *line, ctx, event)?;
                let written = writer.write_str(&line);
                // An exceptionally long line does not keep its room for the thread's life.
                line.shrink_to(KEPT_LINE_BYTES);
                written
            }
            // An event logged while a line of this thread is being formatted.
            Err(_) => write_line(&mut writer, ctx, event),
        })
    }
}

/// The room a thread keeps for its next line.
const KEPT_LINE_BYTES: usize = 4096;

thread_local! {
    /// The line being formatted: reused, so a line costs no allocation once it has grown.
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
    /// The second of the last timestamp, and its date and time as RFC 3339 text.
    static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

fn write_line<S, N>(out: &mut impl fmt::Write, ctx: &FmtContext<'_, S, N>, event: &Event<'_>) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    out.write_str("{\"timestamp\":\"")?;
    write_timestamp(out, SystemTime::now())?;
    out.write_str("\",\"level\":\"")?;
    out.write_str(event.metadata().level().as_str())?;
    out.write_str("\"")?;
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

/// `now` as RFC 3339 in UTC with microseconds, as `humantime::format_rfc3339_micros` writes it.
fn write_timestamp(out: &mut impl fmt::Write, now: SystemTime) -> fmt::Result {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let second = since_epoch.as_secs();
    let (cached, mut text) = SECOND.get();
    if cached != second {
        // "YYYY-MM-DDTHH:MM:SSZ": the date and time, without the zone.
        let formatted = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(second)).to_string();
        let Some(date_time) = formatted.as_bytes().get(..19) else {
            return write!(out, "{}", humantime::format_rfc3339_micros(now));
        };
        text.copy_from_slice(date_time);
        SECOND.set((second, text));
    }
    let micros = since_epoch.subsec_micros();
    let mut fraction = *b".000000Z";
    let mut rest = micros;
    for digit in fraction[1..7].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)?;
    out.write_str(std::str::from_utf8(&fraction).map_err(|_| fmt::Error)?)
}

/// Writes each field as `,"name":value`.
struct JsonFieldWriter<'a, W: fmt::Write> {
    out: &'a mut W,
    result: fmt::Result,
}

impl<W: fmt::Write> JsonFieldWriter<'_, W> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = (|| {
                self.out.write_str(",")?;
                write_json_str(self.out, field.name())?;
                self.out.write_str(":")?;
                value(self.out)
            })();
        }
    }
}

impl<W: fmt::Write> Visit for JsonFieldWriter<'_, W> {
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
            out.write_str("\"")?;
            write!(Escaping(out), "{value:?}")?;
            out.write_str("\"")
        });
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

/// Where the first byte of `bytes` that must be escaped is. Eight bytes at a time: a word with
/// none of them is passed over with a few arithmetic operations, one with any is looked at byte
/// by byte.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether a byte of `word` is below `n` (n <= 0x80): exact, as the classic bit trick is.
    let any_below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0;
    let any_equal = |word: u64, byte: u8| any_below(word ^ (ONES * u64::from(byte)), 1);
    let mut at = 0;
    for word in bytes.chunks_exact(8) {
        let word = u64::from_ne_bytes(word.try_into().expect("a chunk of eight bytes"));
        if any_below(word, 0x20) || any_equal(word, b'"') || any_equal(word, b'\\') || any_equal(word, 0x7f) {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&byte| must_escape(byte)).map(|offset| at + offset)
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
