//! The SSE codec: framing rules that matter for LLM streams, byte-exact raw frames, and chunking invariance.

// Test-only crate: lets clippy's allow-unwrap-in-tests cover the helpers too.
#![cfg(test)]

mod common;

use bivio_protocol::sse::{Frame, MAX_FRAME_BYTES, SseError, SseParser, data_frame, event_frame};
use common::*;
use proptest::prelude::*;

fn parse_all(bytes: &[u8]) -> Vec<Frame> {
    let mut parser = SseParser::new();
    let frames = parser.feed(bytes).unwrap();
    parser.finish().unwrap();
    frames
}

#[test]
fn writers_produce_the_documented_framing() {
    assert_eq!(&event_frame("ping", "{\"type\":\"ping\"}")[..], b"event: ping\ndata: {\"type\":\"ping\"}\n\n");
    assert_eq!(&data_frame("{}")[..], b"data: {}\n\n");
    // Data with newlines becomes several data lines, which join back with \n.
    let frame = data_frame("a\nb");
    assert_eq!(&frame[..], b"data: a\ndata: b\n\n");
    assert_eq!(parse_all(&frame)[0].data.as_deref(), Some("a\nb"));
}

#[test]
fn crlf_and_lf_mix_and_crlf_split_across_chunks() {
    let body = b"data: one\r\n\r\ndata: two\n\n";
    let expected = parse_all(body);
    assert_eq!(expected.len(), 2);
    for cut in 0..=body.len() {
        assert_eq!(frames_cut(body, &[cut]), expected, "cut at {cut}");
    }
}

#[test]
fn a_utf8_character_split_across_chunks() {
    let body = "data: {\"text\":\"é✓\"}\n\n".as_bytes();
    for cut in 0..=body.len() {
        let frames = frames_cut(body, &[cut]);
        assert_eq!(frames[0].data.as_deref(), Some("{\"text\":\"é✓\"}"), "cut at {cut}");
    }
}

#[test]
fn field_parsing_rules() {
    let frames = parse_all(b"event:message_start\ndata:{\"a\":1}\nid: 7\nretry: 100\nunknown: x\n\n");
    assert_eq!(frames[0].event.as_deref(), Some("message_start"), "the space after the colon is optional");
    assert_eq!(frames[0].data.as_deref(), Some("{\"a\":1}"));

    let frames = parse_all(b"data:  two spaces\n\n");
    assert_eq!(frames[0].data.as_deref(), Some(" two spaces"), "only one space is dropped");

    let frames = parse_all(b"data\n\n");
    assert_eq!(frames[0].data.as_deref(), Some(""), "a field name alone has an empty value");

    // Several blank lines in a row do not make empty frames.
    let frames = parse_all(b"\n\n\ndata: x\n\n\n\n");
    assert_eq!(frames.len(), 1);
}

#[test]
fn comment_frames_are_keep_alives_with_their_raw_bytes() {
    let frames = parse_all(b": OPENROUTER PROCESSING\n\n");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].event, None);
    assert_eq!(frames[0].data, None);
    assert_eq!(&frames[0].raw[..], b": OPENROUTER PROCESSING\n\n");
}

#[test]
fn raw_bytes_concatenate_to_the_input() {
    let body = b": hi\n\nevent: a\r\ndata: 1\r\n\r\ndata: 2\ndata: 3\n\n";
    let frames = parse_all(body);
    let joined: Vec<u8> = frames.iter().flat_map(|f| f.raw.to_vec()).collect();
    assert_eq!(joined, body.to_vec());
}

#[test]
fn truncation_and_limits() {
    let mut parser = SseParser::new();
    parser.feed(b"data: [DONE]\n").unwrap();
    let last = parser.finish().unwrap().expect("a last frame without its blank line is still a frame");
    assert_eq!(last.data.as_deref(), Some("[DONE]"));
    assert_eq!(&last.raw[..], b"data: [DONE]\n");

    let mut parser = SseParser::new();
    parser.feed(b"data: x\n\ndata: y").unwrap();
    assert_eq!(parser.finish().unwrap().and_then(|f| f.data).as_deref(), Some("y"), "even without a newline");

    let mut parser = SseParser::new();
    parser.feed(b"data: x\n\n").unwrap();
    assert_eq!(parser.finish(), Ok(None));

    let mut parser = SseParser::new();
    assert_eq!(parser.feed(b"data: \xff\xfe\n\n"), Err(SseError::NotUtf8));

    let mut parser = SseParser::new();
    let big = vec![b'a'; MAX_FRAME_BYTES + 1];
    assert_eq!(parser.feed(&big), Err(SseError::FrameTooLarge));
}

proptest! {
    /// Any frames written by the writers, cut anywhere, parse back to the same events and data.
    #[test]
    fn written_frames_parse_back(
        frames in proptest::collection::vec((proptest::option::of("[a-z_]{1,12}"), "[ -~é\n]{0,40}"), 0..8),
        cuts in proptest::collection::vec(0usize..2000, 0..10),
    ) {
        let mut body = Vec::new();
        for (event, data) in &frames {
            body.extend_from_slice(&match event {
                Some(event) => event_frame(event, data),
                None => data_frame(data),
            });
        }
        let parsed = frames_cut(&body, &cuts);
        prop_assert_eq!(parsed.len(), frames.len());
        for (frame, (event, data)) in parsed.iter().zip(&frames) {
            prop_assert_eq!(&frame.event, event);
            prop_assert_eq!(frame.data.as_deref(), Some(data.as_str()));
        }
    }
}
