//! The embedded provider against a real GGUF (the default Gemma 3 270M unless `BIVIO_TEST_GGUF` says
//! otherwise). Skipped with a notice when the model is absent locally; a failure under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use bivio_embedded::{EmbeddedProvider, TemplateSource};
use bivio_protocol::ErrorKind;
use bivio_protocol::ir::{Block, BlockDelta, BlockStart, ImageSource, Message, Role, StopReason, StreamEvent, Usage};
use bivio_providers::{Completion, Provider};
use common::{call, events, provider, request, stream, text, wait_for};
use futures::StreamExt;

/// A prompt the base model answers at length (no early end of turn).
const LONG: &str = "Write a long story about a lighthouse keeper and the sea. Use many sentences.";

/// Checks the IR's stream invariants and returns the final stop reason, stop sequence and usage.
fn check_sequence(events: &[StreamEvent]) -> (StopReason, Option<String>, Usage) {
    let [
        StreamEvent::MessageStart { id, usage: start, .. },
        StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
        middle @ ..,
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::MessageDelta { stop_reason: Some(reason), stop_sequence, usage },
        StreamEvent::MessageStop,
    ] = events
    else {
        panic!("unexpected event sequence: {events:#?}");
    };
    assert!(id.starts_with("msg_"));
    assert!(start.input_tokens > 0 && start.output_tokens == 0);
    assert_eq!(usage.input_tokens, start.input_tokens);
    for event in middle {
        assert!(
            matches!(event, StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text(t) } if !t.is_empty()),
            "{event:?}"
        );
    }
    (*reason, stop_sequence.clone(), *usage)
}

#[tokio::test]
async fn a_stream_follows_the_ir_event_order_with_exact_usage() {
    let Some(provider) = provider(1, 4) else { return };
    let req = request(LONG, 12);
    let expected_input = provider.prompt_tokens(&req).unwrap().len() as u64;
    let events = events(&provider, req).await.unwrap();
    let (reason, stop_sequence, usage) = check_sequence(&events);
    assert_eq!((reason, stop_sequence), (StopReason::MaxTokens, None));
    assert_eq!(usage.input_tokens, expected_input);
    assert_eq!(usage.output_tokens, 12);
    assert!(!text(&events).is_empty());
    let stats = provider.stats();
    assert_eq!((stats.completed, stats.generated_tokens, stats.busy_slots), (1, 12, 0));
}

#[tokio::test]
async fn max_tokens_counts_generated_tokens_exactly() {
    let Some(provider) = provider(1, 4) else { return };
    let mut previous = String::new();
    for max_tokens in [1, 4, 9] {
        let events = events(&provider, request(LONG, max_tokens)).await.unwrap();
        let (reason, _, usage) = check_sequence(&events);
        assert_eq!((reason, usage.output_tokens), (StopReason::MaxTokens, u64::from(max_tokens)));
        // Greedy: a longer budget extends the same answer.
        let answer = text(&events);
        assert!(answer.starts_with(&previous) && answer.len() > previous.len(), "{previous:?} → {answer:?}");
        previous = answer;
    }
}

#[tokio::test]
async fn temperature_zero_is_deterministic() {
    let Some(provider) = provider(1, 4) else { return };
    // The second run reuses the slot's cached prompt prefix: it must not change the answer.
    let first = text(&events(&provider, request(LONG, 24)).await.unwrap());
    let second = text(&events(&provider, request(LONG, 24)).await.unwrap());
    let other = text(&events(&provider, request("Name three colours.", 8)).await.unwrap());
    let third = text(&events(&provider, request(LONG, 24)).await.unwrap());
    assert_eq!(first, second);
    assert_eq!(first, third);
    assert!(!other.is_empty());
}

#[tokio::test]
async fn a_seed_reproduces_a_sampled_answer() {
    let Some(provider) = provider(1, 4) else { return };
    let sampled = |seed| {
        let mut req = request(LONG, 24);
        req.temperature = Some(1.0);
        req.seed = Some(seed);
        req
    };
    let a = text(&events(&provider, sampled(42)).await.unwrap());
    let b = text(&events(&provider, sampled(42)).await.unwrap());
    assert_eq!(a, b);
    let mut others = Vec::new();
    for seed in [43, 44, 45] {
        others.push(text(&events(&provider, sampled(seed)).await.unwrap()));
    }
    assert!(others.iter().any(|other| *other != a), "three other seeds all gave {a:?}");
}

#[tokio::test]
async fn a_stop_sequence_ends_the_answer_and_is_not_emitted() {
    let Some(provider) = provider(1, 4) else { return };
    let full = text(&events(&provider, request(LONG, 40)).await.unwrap());
    // A stop sequence taken from the middle of the greedy answer, so the rerun must meet it.
    let chars: Vec<(usize, char)> = full.char_indices().collect();
    assert!(chars.len() > 20, "answer too short for the test: {full:?}");
    let (start, _) = chars[chars.len() / 2];
    let (end, _) = chars[chars.len() / 2 + 3];
    let stop = full[start..end].to_owned();
    let expected = &full[..full.find(&stop).unwrap()];
    let mut req = request(LONG, 40);
    req.stop_sequences = vec!["never appears \u{1}".into(), stop.clone()];
    let events = events(&provider, req).await.unwrap();
    let (reason, stop_sequence, usage) = check_sequence(&events);
    assert_eq!((reason, stop_sequence.as_deref()), (StopReason::StopSequence, Some(stop.as_str())));
    assert_eq!(text(&events), expected);
    assert!(usage.output_tokens < 40);
}

#[tokio::test]
async fn dropping_the_stream_cancels_generation_and_frees_the_slot() {
    let Some(provider) = provider(1, 4) else { return };
    let mut events = stream(&provider, request(LONG, 400)).await.unwrap();
    loop {
        match events.next().await.expect("stream ended before any text") {
            StreamEvent::BlockDelta { .. } => break,
            StreamEvent::MessageDelta { .. } => panic!("finished before the first delta"),
            _ => {}
        }
    }
    drop(events);
    wait_for(&provider, |s| s.cancelled == 1 && s.busy_slots == 0).await;
    let stats = provider.stats();
    assert_eq!(stats.completed, 0);
    assert!(stats.generated_tokens < 100, "generation went on after the drop: {stats:?}");
    // The slot is free: the next request runs to completion.
    let next = events_of(&provider, request("Name three colours.", 6)).await;
    assert_eq!(check_sequence(&next).0, StopReason::MaxTokens);
    assert_eq!(provider.stats().completed, 1);
}

async fn events_of(provider: &EmbeddedProvider, req: bivio_protocol::ir::ChatRequest) -> Vec<StreamEvent> {
    events(provider, req).await.unwrap()
}

#[tokio::test]
async fn parallel_requests_are_all_answered_within_the_slots() {
    for (slots, queue) in [(1, 4), (2, 2)] {
        let Some(provider) = provider(slots, queue) else { return };
        let runs = (0..4).map(|i| events(&provider, request(&format!("({i}) {LONG}"), 6)));
        let results = futures::future::join_all(runs).await;
        for result in results {
            let (reason, _, usage) = check_sequence(&result.unwrap());
            assert_eq!((reason, usage.output_tokens), (StopReason::MaxTokens, 6));
        }
        let stats = provider.stats();
        assert_eq!((stats.completed, stats.rejected, stats.busy_slots, stats.queued), (4, 0, 0, 0));
        assert!(stats.peak_busy_slots >= 1 && stats.peak_busy_slots <= slots, "{stats:?}");
    }
}

#[tokio::test]
async fn requests_beyond_slots_and_queue_are_refused_as_overloaded() {
    let Some(provider) = provider(1, 1) else { return };
    // Admission happens when `stream` resolves: the first takes the slot, the second waits, the third is refused.
    let first = stream(&provider, request(LONG, 24)).await.unwrap();
    let second = stream(&provider, request(LONG, 4)).await.unwrap();
    let err = stream(&provider, request(LONG, 4)).await.err().expect("the third request was admitted");
    assert_eq!(err.kind, ErrorKind::Overloaded);
    assert!(err.message.contains("`slots` = 1") && err.message.contains("`queue` = 1"), "{}", err.message);
    assert_eq!(err.retry_after, Some(1));
    let (a, b) = futures::join!(first.collect::<Vec<_>>(), second.collect::<Vec<_>>());
    assert_eq!(check_sequence(&a).0, StopReason::MaxTokens);
    assert_eq!(check_sequence(&b).0, StopReason::MaxTokens);
    let stats = provider.stats();
    assert_eq!((stats.completed, stats.rejected, stats.peak_busy_slots), (2, 1, 1));
}

#[tokio::test]
async fn a_prompt_longer_than_the_context_is_an_invalid_request() {
    let Some(provider) = provider(1, 1) else { return };
    let long = "lighthouse keeper ".repeat(1200);
    let err = stream(&provider, request(&long, 4)).await.err().expect("an over-long prompt was admitted");
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert!(err.message.contains("context window is 1024 tokens"), "{}", err.message);
    assert_eq!(provider.stats().rejected, 0);
}

#[tokio::test]
async fn generation_stops_when_the_context_window_is_full() {
    let Some(provider) = provider(1, 1) else { return };
    // A prompt 20 tokens short of the 1024-token window, continued by a prefill so the answer runs on.
    let mut words = 900;
    let mut tries = 0;
    let req = loop {
        tries += 1;
        assert!(tries < 100, "no prompt length lands near the window");
        let mut req = request(&"the sea and the lighthouse ".repeat(words / 5), 200);
        req.messages.push(Message { role: Role::Assistant, content: vec![Block::text("Once upon a time")] });
        let len = provider.prompt_tokens(&req).unwrap().len();
        if len + 20 <= 1024 && len + 40 >= 1024 {
            break req;
        }
        words = if len + 20 > 1024 { words - 10 } else { words + 10 };
    };
    let prompt = provider.prompt_tokens(&req).unwrap().len() as u64;
    let events = events(&provider, req).await.unwrap();
    let (reason, _, usage) = check_sequence(&events);
    if reason == StopReason::EndTurn {
        eprintln!("the model ended its turn before the window filled; nothing to check");
        return;
    }
    assert_eq!(reason, StopReason::ModelContextWindowExceeded);
    // Every position is used: the prompt, then one decoded token per position left, plus the last sample.
    assert_eq!(usage.output_tokens, 1024 - prompt + 1);
}

#[tokio::test]
async fn images_are_refused() {
    let Some(provider) = provider(1, 1) else { return };
    let mut req = request("what is this?", 4);
    req.messages[0].content.push(Block::Image {
        source: ImageSource::Base64 { media_type: "image/png".into(), data: "AAAA".into() },
        cache_control: None,
    });
    let err = stream(&provider, req).await.err().expect("an image was accepted");
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert!(err.message.contains("does not take images"));
}

#[tokio::test]
async fn a_required_tool_call_is_refused_and_auto_gets_text() {
    let Some(provider) = provider(1, 1) else { return };
    let mut req = request("What is the weather in Rome?", 4);
    req.tools = vec![bivio_protocol::ir::Tool {
        name: "weather".into(),
        description: None,
        input_schema: serde_json::json!({"type": "object"}),
        strict: None,
    }];
    req.tool_choice = Some(bivio_protocol::ir::ToolChoice::Any);
    let err = stream(&provider, req.clone()).await.err().expect("a forced tool call was accepted");
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert!(err.message.starts_with("tool_choice:"), "{}", err.message);
    req.tool_choice = Some(bivio_protocol::ir::ToolChoice::Auto);
    let events = events(&provider, req).await.unwrap();
    assert_eq!(check_sequence(&events).0, StopReason::MaxTokens);
}

#[tokio::test]
async fn complete_collects_the_same_answer_as_the_stream() {
    let Some(provider) = provider(1, 2) else { return };
    let streamed = events(&provider, request(LONG, 10)).await.unwrap();
    let Completion::Ir(response) = provider.complete(call(request(LONG, 10))).await.unwrap() else {
        panic!("expected an IR completion");
    };
    assert_eq!(response.content, vec![Block::text(text(&streamed))]);
    assert_eq!(response.stop_reason, Some(StopReason::MaxTokens));
    assert_eq!(response.usage, check_sequence(&streamed).2);
    assert_eq!(response.model, "local");
}

#[tokio::test]
async fn count_tokens_is_the_generation_input() {
    let Some(provider) = provider(1, 2) else { return };
    let body = serde_json::json!({
        "model": "local",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Name three colours."}],
    });
    let counted = provider.count_tokens(body, Vec::new()).await.unwrap().unwrap();
    let mut req = request("Name three colours.", 2);
    req.system = vec![bivio_protocol::ir::SystemText { text: "Be brief.".into(), cache_control: None }];
    let events = events(&provider, req).await.unwrap();
    assert_eq!(check_sequence(&events).2.input_tokens, counted);
}

#[tokio::test]
async fn a_multi_turn_conversation_with_tool_history_and_a_prefill_is_answered() {
    let Some(provider) = provider(1, 2) else { return };
    let mut req = request("What is the weather in Rome?", 8);
    req.messages.push(Message {
        role: Role::Assistant,
        content: vec![Block::ToolUse {
            id: "toolu_1".into(),
            name: "weather".into(),
            input: serde_json::json!({"city": "Rome"}),
            cache_control: None,
        }],
    });
    req.messages.push(Message {
        role: Role::User,
        content: vec![Block::ToolResult {
            tool_use_id: "toolu_1".into(),
            content: bivio_protocol::ir::ToolResultContent::Text("sunny, 24 °C".into()),
            is_error: false,
            cache_control: None,
        }],
    });
    req.messages.push(Message { role: Role::Assistant, content: vec![Block::text("The weather in Rome is")] });
    let events = events(&provider, req).await.unwrap();
    let (reason, _, usage) = check_sequence(&events);
    assert_eq!((reason, usage.output_tokens), (StopReason::MaxTokens, 8));
}

#[tokio::test]
async fn non_ascii_answers_arrive_as_whole_characters() {
    let Some(provider) = provider(1, 2) else { return };
    let mut req = request("日本語で長い物語を書いてください。", 48);
    req.messages.push(Message { role: Role::Assistant, content: vec![Block::text("昔々、")] });
    let events = events(&provider, req).await.unwrap();
    let answer = text(&events);
    assert!(!answer.contains('\u{fffd}'), "{answer:?}");
    assert!(!answer.is_ascii(), "{answer:?}");
}

#[tokio::test]
async fn load_errors_name_the_config_key() {
    let Some(path) = common::gguf() else { return };
    let missing = common::config("/nonexistent/model.gguf".into(), 1, 1);
    let err = EmbeddedProvider::load("t", &missing).unwrap_err();
    assert!(err.message.contains("`model_path`"), "{}", err.message);
    let no_template = bivio_embedded::EmbeddedConfig { chat_template: None, ..common::config(path.clone(), 1, 1) };
    let unknown =
        bivio_embedded::EmbeddedConfig { chat_template: Some("no-such-template".into()), ..no_template.clone() };
    let err = EmbeddedProvider::load("t", &unknown).unwrap_err();
    assert!(err.message.contains("`chat_template` = \"no-such-template\""), "{}", err.message);
    if path.file_name().is_none_or(|name| name != bivio_embedded::pull::DEFAULT_MODEL.file_name) {
        return;
    }
    // The default model is a base model without a template: under its own name it gets `gemma` ...
    let loaded = EmbeddedProvider::load("t", &no_template).unwrap();
    assert_eq!(loaded.info().template, TemplateSource::Configured("gemma".into()));
    // ... under another name, the error says which key to set.
    let dir = std::env::temp_dir().join(format!("bivio-embedded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let other = dir.join("some-base-model.gguf");
    let _ = std::fs::remove_file(&other);
    std::os::unix::fs::symlink(&path, &other).unwrap();
    let err =
        EmbeddedProvider::load("t", &bivio_embedded::EmbeddedConfig { model_path: other, ..no_template }).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.message.contains("no chat template") && err.message.contains("`chat_template`"), "{}", err.message);
}

#[tokio::test]
async fn the_provider_takes_the_ir() {
    let Some(provider) = provider(1, 1) else { return };
    assert_eq!(provider.wire_api(), None);
    let info = provider.info();
    assert_eq!(info.context_tokens, 1024);
    assert!(info.parameters > 0 && info.size_bytes > 0);
    tokio::time::sleep(Duration::from_millis(1)).await;
}
