//! Streaming restoration. Answers arrive in chunks that may split a placeholder anywhere (`…[[EM` +
//! `AIL_1]]…`); the restorer emits everything that cannot be part of a placeholder at once and holds back
//! only a possible placeholder prefix (at most a few dozen bytes), so restored text is never later than one
//! chunk. In `JsonString` mode (tool-call argument fragments) the restored value is escaped as a JSON string
//! body, so the concatenated arguments stay valid JSON.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// How restored values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreMode {
    /// Verbatim (text and thinking deltas).
    Text,
    /// Escaped as the inside of a JSON string (tool-call argument fragments).
    JsonString,
}

/// Longest placeholder we will wait for: `[[` + name + `_` + digits + `]]`.
const MAX_PLACEHOLDER: usize = 48;

enum Match {
    Complete(usize),
    Partial,
    No,
}

/// Whether `s` (starting with `[`) begins with a placeholder, a prefix of one, or neither.
fn match_placeholder(s: &[u8]) -> Match {
    let len = s.len();
    if len < 2 {
        return Match::Partial;
    }
    if s[1] != b'[' {
        return Match::No;
    }
    let mut i = 2;
    while i < len && (s[i].is_ascii_uppercase() || s[i] == b'_') {
        i += 1;
    }
    if i >= MAX_PLACEHOLDER {
        return Match::No;
    }
    if i == len {
        return Match::Partial;
    }
    if !(s[i].is_ascii_digit() && i - 2 >= 2 && s[i - 1] == b'_') {
        return Match::No;
    }
    while i < len && s[i].is_ascii_digit() {
        i += 1;
    }
    if i >= MAX_PLACEHOLDER {
        return Match::No;
    }
    for _ in 0..2 {
        if i == len {
            return Match::Partial;
        }
        if s[i] != b']' {
            return Match::No;
        }
        i += 1;
    }
    Match::Complete(i)
}

/// Restores placeholders in a stream of chunks. `push` each chunk, then `finish` once.
#[derive(Clone)]
pub struct Restorer {
    map: Arc<HashMap<String, String>>,
    mode: RestoreMode,
    pending: String,
}

impl fmt::Debug for Restorer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restorer").field("mode", &self.mode).field("held_back", &self.pending.len()).finish()
    }
}

impl Restorer {
    pub fn new(map: Arc<HashMap<String, String>>, mode: RestoreMode) -> Restorer {
        Restorer { map, mode, pending: String::new() }
    }

    /// The restored text that can be emitted after `chunk`; a possible placeholder prefix is held back.
    pub fn push(&mut self, chunk: &str) -> String {
        if self.pending.is_empty() && memchr::memchr(b'[', chunk.as_bytes()).is_none() {
            return chunk.to_owned();
        }
        self.pending.push_str(chunk);
        let pending = std::mem::take(&mut self.pending);
        let (out, held) = self.restore(&pending, false);
        self.pending = held.to_owned();
        out
    }

    /// Everything still held back (an incomplete placeholder is emitted as it is).
    pub fn finish(&mut self) -> String {
        let pending = std::mem::take(&mut self.pending);
        self.restore(&pending, true).0
    }

    /// Restores `text`; unless `last`, returns the tail that may still become a placeholder.
    fn restore<'t>(&self, text: &'t str, last: bool) -> (String, &'t str) {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        while let Some(offset) = memchr::memchr(b'[', &bytes[pos..]) {
            let open = pos + offset;
            out.push_str(&text[pos..open]);
            match match_placeholder(&bytes[open..]) {
                Match::Complete(len) => {
                    let placeholder = &text[open..open + len];
                    match self.map.get(placeholder) {
                        Some(value) => self.write_value(&mut out, value),
                        None => out.push_str(placeholder),
                    }
                    pos = open + len;
                }
                Match::Partial if !last => return (out, &text[open..]),
                Match::Partial | Match::No => {
                    out.push('[');
                    pos = open + 1;
                }
            }
        }
        out.push_str(&text[pos..]);
        (out, "")
    }

    fn write_value(&self, out: &mut String, value: &str) {
        match self.mode {
            RestoreMode::Text => out.push_str(value),
            RestoreMode::JsonString => {
                for c in value.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                        c => out.push(c),
                    }
                }
            }
        }
    }
}
