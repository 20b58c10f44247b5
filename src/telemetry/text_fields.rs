//! The fields of a text log line (the `dev` profile's format), with every control character
//! escaped: a value taken from a request — a token's `kid`, a header member's name — can then
//! never start a forged line or send a terminal escape, as the JSON format already ensures.
//! Fields are written as tracing-subscriber writes them (`message`, then `name=value`, strings
//! quoted), without the terminal styling of field names.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::{
    field::RecordFields,
    fmt::{FormatFields, format::Writer},
};

/// Formats an event's or a span's fields with control characters escaped.
#[derive(Debug, Default, Clone, Copy)]
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = FieldWriter { out: &mut writer, first: true, result: Ok(()) };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct FieldWriter<'a, 'w> {
    out: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl FieldWriter<'_, '_> {
    fn write(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.out.write_char(' ')?;
            }
            if field.name() != "message" {
                self.out.write_str(field.name())?;
                self.out.write_char('=')?;
            }
            Escaping(&mut *self.out).write_fmt(value)
        })();
    }
}

impl Visit for FieldWriter<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, format_args!("{value}"));
        } else {
            self.write(field, format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, format_args!("{value:?}"));
    }
}

/// Escapes control characters (C0, DEL, C1) of what is written through it: `\n`, `\r`, `\t`, or
/// `\u{…}`.
struct Escaping<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain_from = 0;
        for (at, c) in text.char_indices() {
            if !c.is_control() {
                continue;
            }
            self.0.write_str(&text[plain_from..at])?;
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
            }
            plain_from = at + c.len_utf8();
        }
        self.0.write_str(&text[plain_from..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_is_kept() {
        let mut out = String::new();
        write!(Escaping(&mut out), "kid=a\r\n2026-12-02T00:00:00Z  INFO forged \u{1b}[31mred\u{7}\u{9b} é ☃").unwrap();
        assert_eq!(out, "kid=a\\r\\n2026-12-02T00:00:00Z  INFO forged \\u{1b}[31mred\\u{7}\\u{9b} é ☃");
        assert!(!out.contains(['\n', '\r', '\u{1b}']));
    }

    #[test]
    fn a_text_line_keeps_its_fields_on_one_line() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(EscapedFields)
            .with_ansi(false)
            .with_target(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let forged = "a\r\n2026-12-02T00:00:00Z  INFO forged\u{1b}[2J";
            tracing::info!(path = "/p\n", status = 401, description = %forged, "response\nmessage");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let expected = r#"INFO response\nmessage path="/p\n" status=401 description=a\r\n2026-12-02T00:00:00Z  INFO forged\u{1b}[2J"#;
        assert!(text.trim_end().ends_with(expected), "{text}");
    }
}
