//! Server-sent events: an incremental parser that keeps each frame's exact bytes (so a same-API stream can be
//! forwarded untouched while it is also decoded), and the writer for frames bivio produces itself.
//!
//! Follows the WHATWG framing rules that matter for LLM APIs: lines end in `\n` or `\r\n`, a blank line ends a
//! frame, several `data:` lines join with `\n`, one space after the colon is dropped, `:` lines are comments.

use bytes::{Bytes, BytesMut};

/// Frames larger than this are refused: no legitimate LLM stream event comes near it, and it bounds memory.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// One parsed frame and the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub event: Option<String>,
    /// The `data:` lines joined by `\n`; `None` for comment-only frames (keep-alives).
    pub data: Option<String>,
    /// The frame exactly as received, blank line included.
    pub raw: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an event-stream frame exceeded {MAX_FRAME_BYTES} bytes")]
    FrameTooLarge,
    #[error("an event-stream frame is not valid UTF-8")]
    NotUtf8,
}

/// Incremental parser: feed bytes as they arrive, take complete frames out.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: BytesMut,
    /// Bytes of `buf` already split into lines of the current (unfinished) frame.
    cursor: usize,
    event: Option<String>,
    data: Option<String>,
    saw_field: bool,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Adds bytes and returns every frame they complete.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Frame>, SseError> {
        self.buf.extend_from_slice(chunk);
        let mut frames = Vec::new();
        while let Some(offset) = self.buf[self.cursor..].iter().position(|&b| b == b'\n') {
            let line_end = self.cursor + offset;
            let line = &self.buf[self.cursor..line_end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.cursor = line_end + 1;
            if line.is_empty() {
                let raw = self.buf.split_to(self.cursor).freeze();
                self.cursor = 0;
                if self.saw_field {
                    frames.push(Frame { event: self.event.take(), data: self.data.take(), raw });
                    self.saw_field = false;
                }
                continue;
            }
            let line = std::str::from_utf8(line).map_err(|_| SseError::NotUtf8)?.to_owned();
            self.take_line(&line);
        }
        if self.buf.len() > MAX_FRAME_BYTES {
            return Err(SseError::FrameTooLarge);
        }
        Ok(frames)
    }

    /// Call at end of input. A last frame that lacks its closing blank line (servers that end with
    /// `data: [DONE]\n`) is returned rather than dropped: whether the stream is complete is for the API's
    /// decoder to judge, and a frame cut mid-JSON fails there as unreadable.
    pub fn finish(&mut self) -> Result<Option<Frame>, SseError> {
        if self.cursor < self.buf.len() {
            let rest = &self.buf[self.cursor..];
            let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
            if !rest.is_empty() {
                let line = std::str::from_utf8(rest).map_err(|_| SseError::NotUtf8)?.to_owned();
                self.take_line(&line);
            }
        }
        let raw = self.buf.split().freeze();
        self.cursor = 0;
        if !std::mem::take(&mut self.saw_field) {
            return Ok(None);
        }
        Ok(Some(Frame { event: self.event.take(), data: self.data.take(), raw }))
    }

    fn take_line(&mut self, line: &str) {
        self.saw_field = true;
        if line.starts_with(':') {
            return; // comment
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {} // id, retry and unknown fields carry nothing an LLM client uses
        }
    }
}

/// A frame with an `event:` line (Anthropic's framing).
pub fn event_frame(event: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(event.len() + data.len() + 16);
    out.push_str("event: ");
    out.push_str(event);
    out.push('\n');
    push_data_lines(&mut out, data);
    Bytes::from(out)
}

/// A frame with only `data:` (OpenAI's framing).
pub fn data_frame(data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 8);
    push_data_lines(&mut out, data);
    Bytes::from(out)
}

fn push_data_lines(out: &mut String, data: &str) {
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_anthropic_frames_and_keeps_raw_bytes() {
        let input = b"event: ping\ndata: {\"type\":\"ping\"}\n\nevent: message_stop\r\ndata: {}\r\n\r\n";
        let mut parser = SseParser::new();
        let frames = parser.feed(input).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].event.as_deref(), Some("ping"));
        assert_eq!(frames[0].data.as_deref(), Some("{\"type\":\"ping\"}"));
        assert_eq!(&frames[0].raw[..], b"event: ping\ndata: {\"type\":\"ping\"}\n\n");
        assert_eq!(frames[1].event.as_deref(), Some("message_stop"));
        let joined: Vec<u8> = frames.iter().flat_map(|f| f.raw.to_vec()).collect();
        assert_eq!(joined, input.to_vec());
        assert_eq!(parser.finish().unwrap(), None);
    }

    #[test]
    fn joins_multiple_data_lines_and_skips_comments() {
        let mut parser = SseParser::new();
        let frames = parser.feed(b": keep-alive\n\ndata: a\ndata:b\n\n").unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].data, None);
        assert_eq!(frames[1].data.as_deref(), Some("a\nb"));
    }

    #[test]
    fn reports_a_cut_frame() {
        let mut parser = SseParser::new();
        assert!(parser.feed(b"data: {\"a\":").unwrap().is_empty());
        let last = parser.finish().unwrap().unwrap();
        assert_eq!(last.data.as_deref(), Some("{\"a\":"), "handed to the decoder, which rejects it");
    }

    #[test]
    fn writer_output_parses_back() {
        let frame = event_frame("message_start", "{\"x\":1}");
        let mut parser = SseParser::new();
        let frames = parser.feed(&frame).unwrap();
        assert_eq!(frames[0].event.as_deref(), Some("message_start"));
        assert_eq!(frames[0].data.as_deref(), Some("{\"x\":1}"));
    }

    proptest! {
        /// However the bytes are split into chunks, the same frames come out.
        #[test]
        fn chunking_does_not_change_frames(
            datas in proptest::collection::vec("[a-z{}\":, ]{0,20}", 1..8),
            cuts in proptest::collection::vec(0usize..200, 0..10),
        ) {
            let stream: Vec<u8> = datas.iter().flat_map(|d| event_frame("e", d).to_vec()).collect();
            let mut whole = SseParser::new();
            let expected = whole.feed(&stream).unwrap();
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
            points.sort_unstable();
            let mut parser = SseParser::new();
            let mut got = Vec::new();
            let mut start = 0;
            for point in points.into_iter().chain([stream.len()]) {
                got.extend(parser.feed(&stream[start..point]).unwrap());
                start = point;
            }
            prop_assert_eq!(got, expected);
            prop_assert_eq!(parser.finish(), Ok(None));
        }

        /// Arbitrary bytes never panic the parser.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut parser = SseParser::new();
            let _ = parser.feed(&bytes);
            let _ = parser.finish();
        }
    }
}
