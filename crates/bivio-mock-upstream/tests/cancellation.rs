//! Stream outcome counting: a client that goes away mid-stream must show up as cancelled.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test crate: helpers outside #[test] fns assert by unwrapping too"
)]

mod common;

use std::time::Duration;

use bivio_mock_upstream::{MockUpstream, Response, StreamOpts};
use common::{anthropic, openai, user};
use serde_json::json;

fn slow() -> Response {
    Response {
        stream: StreamOpts { chunk_size: 1, chunk_delay_ms: 20, ..StreamOpts::default() },
        ..Response::text("a fairly long answer that takes a few seconds to stream one character at a time")
    }
}

async fn read_a_little_then_drop(mut resp: reqwest::Response) {
    assert_eq!(resp.status(), 200);
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(resp);
}

#[tokio::test]
async fn dropping_an_anthropic_stream_counts_as_cancelled() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("slow", slow());
    let body = json!({"model": "m", "max_tokens": 9, "stream": true, "messages": [user("[[mock:slow]]")]});
    read_a_little_then_drop(anthropic(&mock.anthropic_base(), "/v1/messages", &body).await).await;
    let stats = mock.wait_for_stats(Duration::from_secs(5), |s| s.streams_cancelled == 1).await;
    assert_eq!((stats.streams_started, stats.streams_completed, stats.streams_cancelled), (1, 0, 1));
}

#[tokio::test]
async fn dropping_an_openai_stream_counts_as_cancelled() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script("slow", slow());
    let body = json!({"model": "m", "stream": true, "messages": [user("[[mock:slow]]")]});
    read_a_little_then_drop(openai(&mock.openai_base(), "/chat/completions", &body).await).await;
    let stats = mock.wait_for_stats(Duration::from_secs(5), |s| s.streams_cancelled == 1).await;
    assert_eq!((stats.streams_started, stats.streams_completed, stats.streams_cancelled), (1, 0, 1));
}

#[tokio::test]
async fn a_stream_read_to_the_end_counts_as_completed_at_once() {
    let mock = MockUpstream::start().await.unwrap();
    mock.add_script(
        "quick",
        Response {
            stream: StreamOpts { chunk_delay_ms: 1, ..StreamOpts::default() },
            ..Response::text("short answer")
        },
    );
    let body = json!({"model": "m", "max_tokens": 9, "stream": true, "messages": [user("[[mock:quick]]")]});
    let text = anthropic(&mock.anthropic_base(), "/v1/messages", &body).await.text().await.unwrap();
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    let stats = mock.stats();
    assert_eq!((stats.streams_started, stats.streams_completed, stats.streams_cancelled), (1, 1, 0));
    // And it stays that way once the server lets go of the body.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(mock.stats().streams_cancelled, 0);
}
