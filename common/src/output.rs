// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Output: escaping of kernel-supplied strings, a small JSON-lines writer, and a buffered stdout
//! that is flushed once per batch of events.
//!
//! Strings from the kernel (paths, comm, argv) are bytes chosen by whoever made the event, so
//! nothing in them may reach a terminal raw: control bytes and invalid UTF-8 are escaped.

use std::cell::RefCell;
use std::io::{self, BufWriter, Stdout, Write};

use crate::buffer::Flow;
use crate::error::{Error, Result};

/// Append `bytes` to `out` for a text column: printable UTF-8 as is; backslash as `\\`;
/// `\n`, `\t`, `\r`, `\e` by name; every other byte that is not shown as is written `\xNN`,
/// one per byte, so `printf '%b'` turns the text back into the original bytes. Not shown as is:
/// invalid UTF-8, C0 controls and DEL, C1 controls (U+0080..U+009F, e.g. U+009B, a one-character
/// CSI on some terminals) and the invisible format characters that change how text around them
/// is displayed (see [`is_hidden_format`]): a file named `evil\u{202e}gnp.exe` prints as
/// `evil\xe2\x80\xaegnp.exe`, not as "evilexe.png".
pub fn escape_text(out: &mut Vec<u8>, bytes: &[u8]) {
    escape(out, bytes, true);
}

/// [`escape_text`], but a backslash is kept as is when `backslash` is false (for messages that
/// already hold `\xNN` escapes of their own).
pub(crate) fn escape(out: &mut Vec<u8>, bytes: &[u8], backslash: bool) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' if backslash => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\x1b' => out.extend_from_slice(b"\\e"),
                c if c.is_control() || is_hidden_format(c) => {
                    let mut tmp = [0u8; 4];
                    for &b in c.encode_utf8(&mut tmp).as_bytes() {
                        hex_byte(out, b);
                    }
                }
                c => {
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            hex_byte(out, b);
        }
    }
}

/// Invisible Unicode format characters (category Cf) that reorder or hide the text around
/// them: the soft hyphen U+00AD, Arabic letter mark U+061C, the zero-width and directional
/// marks U+200B..U+200F, the bidirectional embeddings and overrides U+202A..U+202E, word
/// joiner and invisible operators U+2060..U+2064, the bidirectional isolates U+2066..U+2069,
/// the deprecated format controls U+206A..U+206F, the byte order mark / zero-width no-break
/// space U+FEFF, the interlinear annotation characters U+FFF9..U+FFFB and the tag characters
/// U+E0000..U+E007F (Unicode 15, UnicodeData.txt).
pub fn is_hidden_format(c: char) -> bool {
    matches!(c,
        '\u{ad}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}')
}

fn hex_digits(b: u8) -> [u8; 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]
}

fn hex_byte(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(b"\\x");
    out.extend_from_slice(&hex_digits(b));
}

/// `bytes` escaped for a text column, as a `String` (for padding with `format!`).
pub fn escaped(bytes: &[u8]) -> String {
    let mut v = Vec::with_capacity(bytes.len());
    escape_text(&mut v, bytes);
    // escape_text only emits valid UTF-8.
    String::from_utf8_lossy(&v).into_owned()
}

/// Append `bytes` as a JSON string. Valid UTF-8 is kept but for controls and the invisible
/// format characters of [`is_hidden_format`], written `\uXXXX`; invalid bytes become the text
/// `\xNN` (a JSON string cannot carry raw bytes).
pub fn json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\r' => out.extend_from_slice(b"\\r"),
                // Controls and the invisible format characters as `\uXXXX` (a surrogate pair
                // above U+FFFF): the same string to a JSON parser, inert in a terminal.
                c if c.is_control() || is_hidden_format(c) => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        let _ = write!(out, "\\u{u:04x}");
                    }
                }
                c => {
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            // A JSON backslash must itself be escaped: the value reads `\xNN`.
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(&hex_digits(b));
        }
    }
    out.push(b'"');
}

/// One JSON object on one line, written field by field.
pub struct JsonLine<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonLine<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// An event's line, opened with the fields event tools' JSON starts with, in this order:
    /// `time` (RFC 3339, [`crate::time::EventTimes::rfc3339`]), `ts_ns` (the record's
    /// CLOCK_MONOTONIC nanoseconds), `pid` (the tgid) and `tid`.
    pub fn event(out: &'a mut Vec<u8>, time: &str, ts_ns: u64, pid: u32, tid: u32) -> Self {
        let mut j = Self::timed(out, time, ts_ns);
        j.u64("pid", pid.into()).u64("tid", tid.into());
        j
    }

    /// An event's line opened with its first two fields only, `time` and `ts_ns` (as
    /// [`Self::event`]), for records whose next fields are not `pid` and `tid`.
    pub fn timed(out: &'a mut Vec<u8>, time: &str, ts_ns: u64) -> Self {
        let mut j = Self::new(out);
        j.str("time", time.as_bytes()).u64("ts_ns", ts_ns);
        j
    }

    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        json_string(self.out, key.as_bytes());
        self.out.push(b':');
        self.out
    }

    pub fn u64(&mut self, key: &str, v: u64) -> &mut Self {
        let _ = write!(self.key(key), "{v}");
        self
    }

    pub fn i64(&mut self, key: &str, v: i64) -> &mut Self {
        let _ = write!(self.key(key), "{v}");
        self
    }

    pub fn bool(&mut self, key: &str, v: bool) -> &mut Self {
        let _ = write!(self.key(key), "{v}");
        self
    }

    pub fn str(&mut self, key: &str, v: &[u8]) -> &mut Self {
        json_string(self.key(key), v);
        self
    }

    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key).extend_from_slice(b"null");
        self
    }

    /// A field whose value the caller has already rendered as JSON.
    pub fn raw(&mut self, key: &str, json: &[u8]) -> &mut Self {
        self.key(key).extend_from_slice(json);
        self
    }

    pub fn str_array<'b>(
        &mut self,
        key: &str,
        items: impl IntoIterator<Item = &'b [u8]>,
    ) -> &mut Self {
        let out = self.key(key);
        out.push(b'[');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_string(out, item);
        }
        out.push(b']');
        self
    }

    /// Reopen the object that ends `out` (`{..}\n`, as [`JsonLine::finish`] left it) to add
    /// fields after those already there; `None` when `out` does not end with one.
    pub fn reopen(out: &'a mut Vec<u8>) -> Option<Self> {
        if !out.ends_with(b"}\n") {
            return None;
        }
        out.truncate(out.len() - 2);
        let empty = out.last() == Some(&b'{');
        Some(Self { out, empty })
    }

    /// Close the object and end the line.
    pub fn finish(self) {
        self.out.extend_from_slice(b"}\n");
    }
}

/// Standard output, buffered so that a pipe gets one write per batch of events rather than
/// one per event; the event loop flushes after every batch, so a terminal still sees each
/// event at once.
pub struct Output {
    w: BufWriter<Stdout>,
}

impl Default for Output {
    fn default() -> Self {
        Self::new()
    }
}

impl Output {
    pub fn new() -> Self {
        Self {
            w: BufWriter::with_capacity(1 << 16, io::stdout()),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.w.write_all(bytes)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// A closed pipe (`| head`) is a normal way for the reader to say it has seen enough.
pub fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Output shared between the event handler and the loop that flushes it. A write error is
/// remembered and stops the stream; a closed pipe then ends the tool quietly.
pub struct Printer {
    out: RefCell<Output>,
    error: RefCell<Option<io::Error>>,
}

impl Default for Printer {
    fn default() -> Self {
        Self::new()
    }
}

impl Printer {
    pub fn new() -> Self {
        Self {
            out: RefCell::new(Output::new()),
            error: RefCell::new(None),
        }
    }

    /// Write `bytes`; on failure remember why and ask the stream to stop.
    pub fn emit(&self, bytes: &[u8]) -> Flow {
        if self.error.borrow().is_some() {
            return Flow::Stop;
        }
        match self.out.borrow_mut().write(bytes) {
            Ok(()) => Flow::Continue,
            Err(e) => {
                *self.error.borrow_mut() = Some(e);
                Flow::Stop
            }
        }
    }

    /// Write and flush at once (headers, final histograms).
    pub fn emit_now(&self, bytes: &[u8]) -> io::Result<()> {
        let mut out = self.out.borrow_mut();
        out.write(bytes)?;
        out.flush()
    }

    /// Write and flush at once; `Ok(false)` when the reader has closed the pipe, which ends a
    /// tool quietly.
    pub fn emit_or_closed(&self, bytes: &[u8]) -> Result<bool> {
        match self.emit_now(bytes) {
            Ok(()) => Ok(true),
            Err(e) if is_broken_pipe(&e) => Ok(false),
            Err(e) => Err(Error::fatal(format!("writing output: {e}"))),
        }
    }

    pub fn flush(&self) -> io::Result<()> {
        if let Some(e) = self.error.borrow_mut().take() {
            return Err(e);
        }
        self.out.borrow_mut().flush()
    }
}

/// `one` when `n` is 1, `many` otherwise ("1 event", "2 events" in the tools' messages).
pub fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_open_with_time_ts_pid_tid() {
        let mut out = Vec::new();
        let mut j = JsonLine::event(&mut out, "2026-01-02T03:04:05Z", 7, 12, 13);
        j.str("comm", b"a\"b");
        j.finish();
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"time\":\"2026-01-02T03:04:05Z\",\"ts_ns\":7,\"pid\":12,\"tid\":13,\"comm\":\"a\\\"b\"}\n"
        );
    }

    fn text(b: &[u8]) -> String {
        escaped(b)
    }

    fn json(b: &[u8]) -> String {
        let mut v = Vec::new();
        json_string(&mut v, b);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn text_keeps_printable_utf8() {
        assert_eq!(text("/tmp/ünï cødé.txt".as_bytes()), "/tmp/ünï cødé.txt");
    }

    #[test]
    fn text_escapes_control_bytes_and_backslash() {
        assert_eq!(
            text(b"a\x1b[31mb\n\t\r\x01\x7f\\"),
            r"a\e[31mb\n\t\r\x01\x7f\\"
        );
    }

    #[test]
    fn text_escapes_invalid_utf8_and_c1() {
        assert_eq!(text(b"x\xff\xfey"), r"x\xff\xfey");
        assert_eq!(text("c1\u{85}nel".as_bytes()), r"c1\xc2\x85nel");
        assert_eq!(text("csi\u{9b}31mX".as_bytes()), r"csi\xc2\x9b31mX");
        assert_eq!(
            text("\u{80}\u{9f}\u{a0}".as_bytes()),
            "\\xc2\\x80\\xc2\\x9f\u{a0}"
        );
    }

    #[test]
    fn text_escapes_invisible_format_characters() {
        assert_eq!(
            text("evil\u{202e}gnp.exe".as_bytes()),
            r"evil\xe2\x80\xaegnp.exe"
        );
        assert_eq!(
            text("a\u{200b}b\u{200f}c\u{202a}d\u{2066}e\u{2069}f\u{feff}g".as_bytes()),
            r"a\xe2\x80\x8bb\xe2\x80\x8fc\xe2\x80\xaad\xe2\x81\xa6e\xe2\x81\xa9f\xef\xbb\xbfg"
        );
        assert_eq!(text("x\u{e0041}".as_bytes()), r"x\xf3\xa0\x81\x81");
        // Visible neighbours of the ranges stay as they are.
        assert_eq!(
            text("\u{2010}\u{2070}\u{fffd}".as_bytes()),
            "\u{2010}\u{2070}\u{fffd}"
        );
    }

    #[test]
    fn text_escapes_round_trip_through_printf() {
        // Every escape is one printf %b understands, so the bytes can be recovered.
        let raw = "e\u{202e}\u{85}\x1b\n\\ \u{ff}".as_bytes();
        let shown = text(raw);
        let out = std::process::Command::new("printf")
            .args(["%b", &shown])
            .output()
            .expect("run printf");
        assert_eq!(out.stdout, raw);
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json(b"a\"b\\c\n\x01"), r#""a\"b\\c\n\u0001""#);
        assert_eq!(json(b"\xffz"), r#""\\xffz""#);
        assert_eq!(json("é".as_bytes()), "\"é\"");
        assert_eq!(
            json("\u{85}\u{202e}\u{feff}\u{e0041}".as_bytes()),
            r#""\u0085\u202e\ufeff\udb40\udc41""#
        );
    }

    #[test]
    fn json_line_reopens_to_add_fields() {
        let mut v = b"{\"a\":1}\n".to_vec();
        let mut j = JsonLine::reopen(&mut v).expect("an object");
        j.u64("b", 2);
        j.finish();
        assert_eq!(v, b"{\"a\":1,\"b\":2}\n");
        let mut v = b"{}\n".to_vec();
        let mut j = JsonLine::reopen(&mut v).expect("an object");
        j.u64("b", 2);
        j.finish();
        assert_eq!(v, b"{\"b\":2}\n");
        assert!(JsonLine::reopen(&mut b"[1]\n".to_vec()).is_none());
    }

    #[test]
    fn json_line_golden() {
        let mut v = Vec::new();
        let mut o = JsonLine::new(&mut v);
        o.u64("pid", 42)
            .i64("ret", -2)
            .str("comm", b"cat")
            .bool("ok", false)
            .null("x")
            .str_array("argv", [&b"a"[..], b"b c"]);
        o.finish();
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"pid\":42,\"ret\":-2,\"comm\":\"cat\",\"ok\":false,\"x\":null,\"argv\":[\"a\",\"b c\"]}\n"
        );
    }
}
