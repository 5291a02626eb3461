//! Property tests: generated IR requests through each API's wire and back, generated IR streams through each
//! API's stream codec (split into arbitrary byte chunks) and back, and messy OpenAI-compatible backend streams
//! through the decoder. Expected values follow the normalisation that `protocol-notes.md` documents.

// Test-only crate: lets clippy's allow-unwrap-in-tests cover the helpers too.
#![cfg(test)]

mod common;

use bivio_protocol::ir::{
    Block, BlockDelta, BlockStart, ChatRequest, ImageSource, Message, ResponseFormat, Role, StopReason, StreamEvent,
    SystemText, Tool, ToolChoice, ToolResultContent, Usage,
};
use bivio_protocol::{anthropic, openai, tool_ids};
use common::*;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------------------
// Strategies

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Quarters print and parse back exactly, whatever serde_json's float parsing precision.
        (-4000i32..4000).prop_map(|k| Value::from(f64::from(k) / 4.0)),
        "[a-zA-Z0-9 _\"\\\\/\n\té✓{}:,]{0,10}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{1,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    btree_map("[a-z_]{1,6}", json_value(), 0..4).prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// Text, including the empty and whitespace-only strings Claude rejects.
fn text_string() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z0-9 ,.!?'é✓]{1,12}",
        1 => "[a-z]{1,6}[ \n\t]{1,3}",
        1 => Just(String::new()),
        1 => "[ \n\t]{1,3}",
    ]
}

fn ephemeral() -> impl Strategy<Value = Option<Value>> {
    option::weighted(0.2, Just(json!({ "type": "ephemeral" })))
}

fn text_block() -> impl Strategy<Value = Block> {
    (text_string(), ephemeral()).prop_map(|(text, cache_control)| Block::Text { text, cache_control })
}

fn image_block() -> impl Strategy<Value = Block> {
    let base64 = ("image/(png|jpeg|gif|webp)", "[A-Za-z0-9+/]{4,16}={0,2}")
        .prop_map(|(media_type, data)| ImageSource::Base64 { media_type, data });
    let url = "https?://example\\.com/[a-z]{1,8}\\.png".prop_map(|url| ImageSource::Url { url });
    prop_oneof![base64, url].prop_map(|source| Block::Image { source, cache_control: None })
}

/// Tool ids: Anthropic-style, OpenAI-style, and foreign ones Claude would reject.
fn tool_id() -> impl Strategy<Value = String> {
    prop_oneof!["toolu_[a-zA-Z0-9]{1,8}", "call_[a-zA-Z0-9_-]{1,8}", "[a-z]{1,6}\\.[a-z_]{1,6}:[0-9]", "[a-z .:/]{1,6}",]
}

fn tool_name() -> impl Strategy<Value = String> {
    "[a-z_]{1,10}"
}

fn tool_use_block() -> impl Strategy<Value = Block> {
    (tool_id(), tool_name(), json_object()).prop_map(|(id, name, input)| Block::ToolUse {
        id,
        name,
        input,
        cache_control: None,
    })
}

fn tool_result_block() -> impl Strategy<Value = Block> {
    let content = prop_oneof![
        text_string().prop_map(ToolResultContent::Text),
        vec(text_string().prop_map(Block::text), 0..3).prop_map(ToolResultContent::Blocks),
    ];
    (tool_id(), content, prop::bool::weighted(0.2)).prop_map(|(tool_use_id, content, is_error)| Block::ToolResult {
        tool_use_id,
        content,
        is_error,
        cache_control: None,
    })
}

fn thinking_block() -> impl Strategy<Value = Block> {
    let signature = option::of(prop_oneof![Just(String::new()), "[A-Za-z0-9+/=]{4,16}"]);
    prop_oneof![
        4 => (text_string(), signature).prop_map(|(thinking, signature)| Block::Thinking { thinking, signature }),
        1 => "[A-Za-z0-9+/=]{4,16}".prop_map(|data| Block::RedactedThinking { data }),
    ]
}

fn user_block() -> impl Strategy<Value = Block> {
    prop_oneof![3 => text_block(), 1 => image_block(), 2 => tool_result_block()]
}

fn assistant_block() -> impl Strategy<Value = Block> {
    prop_oneof![3 => text_block(), 2 => tool_use_block(), 1 => thinking_block()]
}

/// Alternating turns, starting with a user turn that starts with text (so there is always a user message).
fn messages() -> impl Strategy<Value = Vec<Message>> {
    let turn = (vec(user_block(), 1..4), vec(assistant_block(), 0..4));
    (text_string(), vec(turn, 1..4), any::<bool>()).prop_map(|(first, turns, end_with_assistant)| {
        let mut messages = Vec::new();
        let last = turns.len() - 1;
        for (i, (user_blocks, assistant_blocks)) in turns.into_iter().enumerate() {
            let mut content = user_blocks;
            if i == 0 {
                content.insert(0, Block::text(first.clone()));
            }
            messages.push(Message { role: Role::User, content });
            if i < last || end_with_assistant {
                messages.push(Message { role: Role::Assistant, content: assistant_blocks });
            }
        }
        messages
    })
}

fn tool() -> impl Strategy<Value = Tool> {
    (tool_name(), option::of("[a-zA-Z ]{0,20}"), json_object(), option::of(any::<bool>())).prop_map(
        |(name, description, mut input_schema, strict)| {
            input_schema["type"] = json!("object");
            Tool { name, description, input_schema, strict }
        },
    )
}

fn tool_choice() -> impl Strategy<Value = Option<ToolChoice>> {
    option::of(prop_oneof![
        Just(ToolChoice::Auto),
        Just(ToolChoice::Any),
        Just(ToolChoice::None),
        tool_name().prop_map(ToolChoice::Tool),
    ])
}

fn response_format() -> impl Strategy<Value = Option<ResponseFormat>> {
    option::of(prop_oneof![
        Just(ResponseFormat::Text),
        Just(ResponseFormat::JsonObject),
        ("[a-z]{1,8}", json_object(), option::of(any::<bool>()))
            .prop_map(|(name, schema, strict)| ResponseFormat::JsonSchema { name, schema, strict }),
    ])
}

/// A hundredth: prints and parses back exactly.
fn unit_interval() -> impl Strategy<Value = f64> {
    (0u32..=100).prop_map(|k| f64::from(k) / 100.0)
}

fn system_part() -> impl Strategy<Value = SystemText> {
    (text_string(), ephemeral()).prop_map(|(text, cache_control)| SystemText { text, cache_control })
}

fn chat_request() -> impl Strategy<Value = ChatRequest> {
    let content = (vec(system_part(), 0..3), messages(), vec(tool(), 0..3), tool_choice(), option::of(any::<bool>()));
    let sampling = (
        option::of(1u32..100_000),
        option::of(unit_interval()),
        option::of(unit_interval()),
        option::of(1u32..500),
        vec("[A-Z]{1,5}|\n\n[A-Z][a-z]{1,5}:", 0..4),
        option::of(any::<i64>()),
    );
    let other = (
        prop_oneof![4 => Just(None), 2 => Just(Some(1u32)), 1 => (2u32..5).prop_map(Some)],
        option::of("[a-z0-9-]{1,10}"),
        option::of(prop_oneof![Just("low".to_owned()), Just("high".to_owned())]),
        response_format(),
        option::of(prop_oneof![
            Just(json!({ "type": "enabled", "budget_tokens": 2048 })),
            Just(json!({ "type": "disabled" })),
            Just(json!({ "type": "adaptive" })),
        ]),
        any::<bool>(),
    );
    (content, sampling, other).prop_map(
        |(
            (system, messages, tools, tool_choice, parallel_tool_calls),
            (max_tokens, temperature, top_p, top_k, stop_sequences, seed),
            (n, user, reasoning_effort, response_format, thinking, stream),
        )| ChatRequest {
            model: "some-model".into(),
            system,
            messages,
            max_tokens,
            temperature,
            top_p,
            top_k,
            stop_sequences,
            tools,
            tool_choice,
            parallel_tool_calls,
            response_format,
            thinking,
            reasoning_effort,
            seed,
            n,
            user,
            stream,
            include_usage: false,
        },
    )
}

// ---------------------------------------------------------------------------------------------------------
// Expected normalisation

fn push_merged(messages: &mut Vec<Message>, role: Role, content: Vec<Block>) {
    match messages.last_mut() {
        Some(last) if last.role == role => last.content.extend(content),
        _ => messages.push(Message { role, content }),
    }
}

/// What an IR request looks like after OpenAI's wire: one system text; text cache hints dropped; tool results
/// first as text (an error flagged in the text); all-text user turns joined by newlines; assistant text joined
/// and followed by its tool calls; thinking dropped; parallel_tool_calls only with tools.
fn expect_through_openai(request: &ChatRequest) -> ChatRequest {
    let system_text = request.system.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n\n");
    let system =
        if system_text.is_empty() { Vec::new() } else { vec![SystemText { text: system_text, cache_control: None }] };
    let mut messages = Vec::new();
    for message in &request.messages {
        match message.role {
            Role::User => {
                let mut results = Vec::new();
                let mut parts = Vec::new();
                for block in &message.content {
                    match block {
                        Block::ToolResult { tool_use_id, content, is_error, .. } => {
                            let text = content.joined_text();
                            let text = if *is_error { format!("Error: {text}") } else { text };
                            results.push(tool_result(tool_use_id, &text));
                        }
                        Block::Text { text, .. } => parts.push(Block::text(text.clone())),
                        Block::Image { source, .. } => {
                            parts.push(Block::Image { source: source.clone(), cache_control: None })
                        }
                        _ => {}
                    }
                }
                if !parts.is_empty() && parts.iter().all(|p| matches!(p, Block::Text { .. })) {
                    let joined = parts
                        .iter()
                        .filter_map(|p| match p {
                            Block::Text { text, .. } => Some(text.as_str()),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                    parts = vec![Block::text(joined)];
                }
                results.extend(parts);
                push_merged(&mut messages, Role::User, results);
            }
            Role::Assistant => {
                let text: String = message
                    .content
                    .iter()
                    .filter_map(|b| match b {
                        Block::Text { text, .. } => Some(text.as_str()),
                        _ => None,
                    })
                    .collect();
                let mut blocks = Vec::new();
                if !text.is_empty() {
                    blocks.push(Block::text(text));
                }
                for block in &message.content {
                    if let Block::ToolUse { id, name, input, .. } = block {
                        blocks.push(tool_use(id, name, input.clone()));
                    }
                }
                push_merged(&mut messages, Role::Assistant, blocks);
            }
        }
    }
    ChatRequest {
        system,
        messages,
        parallel_tool_calls: if request.tools.is_empty() { None } else { request.parallel_tool_calls },
        thinking: None,
        // bivio asks OpenAI-compatible backends for usage on every stream.
        include_usage: request.stream,
        ..request.clone()
    }
}

/// What an IR request looks like after Anthropic's wire (see `anthropic::encode_request`'s rules).
fn expect_through_anthropic(request: &ChatRequest) -> ChatRequest {
    let mut system: Vec<SystemText> = request.system.iter().filter(|s| !s.text.trim().is_empty()).cloned().collect();
    let mut messages: Vec<Message> = Vec::new();
    for message in &request.messages {
        let content: Vec<Block> = message
            .content
            .iter()
            .filter_map(|block| match block {
                Block::Text { text, .. } if text.trim().is_empty() => None,
                Block::Thinking { signature, .. } if signature.as_deref().is_none_or(str::is_empty) => None,
                Block::ToolUse { id, name, input, cache_control } => Some(Block::ToolUse {
                    id: tool_ids::to_anthropic(id),
                    name: name.clone(),
                    input: input.clone(),
                    cache_control: cache_control.clone(),
                }),
                Block::ToolResult { tool_use_id, content, is_error, cache_control } => Some(Block::ToolResult {
                    tool_use_id: tool_ids::to_anthropic(tool_use_id),
                    content: content.clone(),
                    is_error: *is_error,
                    cache_control: cache_control.clone(),
                }),
                other => Some(other.clone()),
            })
            .collect();
        if !content.is_empty() {
            push_merged(&mut messages, message.role, content);
        }
    }
    for message in &mut messages {
        if message.role == Role::User {
            message.content.sort_by_key(|b| !matches!(b, Block::ToolResult { .. }));
        }
    }
    if messages.is_empty() {
        let text = system.drain(..).map(|s| s.text).collect::<Vec<_>>().join("\n\n");
        let text = if text.is_empty() { ".".to_owned() } else { text };
        messages.push(user(vec![Block::text(text)]));
    }
    if let Some(last) = messages.last_mut()
        && last.role == Role::Assistant
        && let Some(Block::Text { text, .. }) = last.content.last_mut()
    {
        *text = text.trim_end().to_owned();
    }
    let disable_parallel = request.parallel_tool_calls == Some(false);
    let (tool_choice, parallel_tool_calls) = match &request.tool_choice {
        None if disable_parallel && !request.tools.is_empty() => (Some(ToolChoice::Auto), Some(false)),
        None => (None, None),
        Some(ToolChoice::None) => (Some(ToolChoice::None), None),
        Some(choice) => (Some(choice.clone()), disable_parallel.then_some(false)),
    };
    ChatRequest {
        system,
        messages,
        max_tokens: Some(request.max_tokens.unwrap_or(anthropic::DEFAULT_MAX_TOKENS)),
        temperature: request.temperature.map(|t| t.clamp(0.0, 1.0)),
        tools: request.tools.iter().map(|t| Tool { strict: None, ..t.clone() }).collect(),
        tool_choice,
        parallel_tool_calls,
        response_format: None,
        reasoning_effort: None,
        seed: None,
        n: None,
        include_usage: false,
        ..request.clone()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Request round trips

fn through_openai(request: &ChatRequest) -> (Value, ChatRequest) {
    let body = openai::encode_request(request, &request.model).unwrap();
    let back = openai::parse_request(body.to_string().as_bytes()).unwrap();
    (body, back)
}

/// `None` when Claude cannot take the request (n > 1). `response_format` becomes a system instruction, which
/// `anthropic_request.rs` checks; the generated requests here drop it.
fn through_anthropic(request: &ChatRequest) -> Option<(Value, ChatRequest)> {
    let body = anthropic::encode_request(request, &request.model).ok()?;
    let back = anthropic::parse_request(body.to_string().as_bytes()).unwrap();
    Some((body, back))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn requests_survive_the_openai_wire(request in chat_request()) {
        let (body, back) = through_openai(&request);
        prop_assert_eq!(&back, &expect_through_openai(&request), "wire body: {}", body);
        // Never a developer message, at most one system message, and it leads.
        let roles: Vec<&str> = body["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
        prop_assert!(!roles.contains(&"developer"));
        prop_assert!(roles.iter().skip(1).all(|r| *r != "system"), "{:?}", roles);
        prop_assert!(body.get("max_completion_tokens").is_none());
    }

    #[test]
    fn requests_survive_the_anthropic_wire(request in chat_request()) {
        let request = ChatRequest { response_format: None, ..request };
        match through_anthropic(&request) {
            None => prop_assert!(request.n.is_some_and(|n| n != 1)),
            Some((body, back)) => {
                prop_assert!(request.n.is_none_or(|n| n == 1));
                prop_assert_eq!(&back, &expect_through_anthropic(&request), "wire body: {}", body);
            }
        }
    }

    /// What Claude receives obeys its rules: alternating non-empty turns, no empty or whitespace-only text, no
    /// unsigned thinking, valid tool ids, tool results first, no trailing whitespace on a final assistant turn,
    /// object tool inputs, typed non-empty system blocks, temperature within 0–1. (The first turn may be the
    /// assistant's when a client's first user turn was only whitespace: Anthropic's own API accepts that.)
    #[test]
    fn claude_bodies_obey_claudes_rules(request in chat_request()) {
        let Ok(body) = anthropic::encode_request(&request, "claude") else { return Ok(()) };
        let messages = body["messages"].as_array().unwrap();
        prop_assert!(!messages.is_empty());
        for pair in messages.windows(2) {
            prop_assert_ne!(&pair[0]["role"], &pair[1]["role"]);
        }
        for message in messages {
            let content = message["content"].as_array().unwrap();
            prop_assert!(!content.is_empty());
            let mut seen_other = false;
            for block in content {
                match block["type"].as_str().unwrap() {
                    "text" => prop_assert!(!block["text"].as_str().unwrap().trim().is_empty(), "{}", block),
                    "thinking" => prop_assert!(!block["signature"].as_str().unwrap_or_default().is_empty(), "{}", block),
                    "tool_use" => {
                        prop_assert!(valid_id(&block["id"]), "{}", block);
                        prop_assert!(block["input"].is_object());
                    }
                    "tool_result" => {
                        prop_assert!(valid_id(&block["tool_use_id"]), "{}", block);
                        prop_assert!(!seen_other, "tool results come first: {}", message);
                    }
                    _ => {}
                }
                seen_other |= block["type"] != "tool_result";
            }
        }
        let last = messages.last().unwrap();
        if last["role"] == "assistant"
            && let Some(text) = last["content"].as_array().unwrap().last().and_then(|b| b["text"].as_str())
        {
            prop_assert_eq!(text, text.trim_end());
        }
        for part in body.get("system").and_then(Value::as_array).into_iter().flatten() {
            prop_assert_eq!(&part["type"], "text");
            prop_assert!(!part["text"].as_str().unwrap().trim().is_empty());
        }
        if let Some(t) = body.get("temperature") {
            prop_assert!((0.0..=1.0).contains(&t.as_f64().unwrap()));
        }
    }

    /// A second trip through either wire changes nothing: the normalisation is idempotent.
    #[test]
    fn normalisation_is_idempotent(request in chat_request()) {
        let (body, back) = through_openai(&request);
        let (again, _) = through_openai(&back);
        prop_assert_eq!(again, body);
        if let Some((body, back)) = through_anthropic(&ChatRequest { response_format: None, ..request }) {
            let (again, _) = through_anthropic(&back).unwrap();
            prop_assert_eq!(again, body);
        }
    }

    /// OpenAI temperatures (0–2) reach Claude clamped to 0–1, and OpenAI backends unchanged.
    #[test]
    fn temperature_is_clamped_per_api(k in 0u32..=200) {
        let t = f64::from(k) / 100.0;
        let request = ChatRequest { temperature: Some(t), ..request(vec![user(vec![text("hi")])]) };
        prop_assert_eq!(anthropic::encode_request(&request, "m").unwrap()["temperature"].as_f64(), Some(t.min(1.0)));
        prop_assert_eq!(openai::encode_request(&request, "m").unwrap()["temperature"].as_f64(), Some(t));
    }
}

fn valid_id(id: &Value) -> bool {
    id.as_str()
        .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

// ---------------------------------------------------------------------------------------------------------
// Stream round trips

#[derive(Debug, Clone)]
enum GenBlock {
    Text(Vec<String>),
    Thinking(Vec<String>, Option<String>),
    /// id, name, input, cut points splitting the input's JSON into fragments.
    Tool(String, String, Value, Vec<usize>),
}

fn gen_block() -> impl Strategy<Value = GenBlock> {
    let deltas = || vec("[a-zA-Z0-9 ,.!?\né✓]{0,8}", 0..5);
    prop_oneof![
        3 => deltas().prop_map(GenBlock::Text),
        1 => (deltas(), option::of("[A-Za-z0-9+/=]{4,12}")).prop_map(|(d, s)| GenBlock::Thinking(d, s)),
        2 => ("[a-zA-Z0-9_-]{1,10}", tool_name(), json_object(), vec(0usize..200, 0..4))
            .prop_map(|(id, name, input, cuts)| GenBlock::Tool(id, name, input, cuts)),
    ]
}

fn stop_reason() -> impl Strategy<Value = Option<StopReason>> {
    option::of(prop_oneof![
        Just(StopReason::EndTurn),
        Just(StopReason::MaxTokens),
        Just(StopReason::StopSequence),
        Just(StopReason::ToolUse),
        Just(StopReason::PauseTurn),
        Just(StopReason::Refusal),
        Just(StopReason::ModelContextWindowExceeded),
    ])
}

fn usage() -> impl Strategy<Value = Usage> {
    (0u64..100_000, 0u64..10_000, 0u64..100_000, 0u64..10_000, option::of(0u64..1000)).prop_map(
        |(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens)| Usage {
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            reasoning_tokens,
        },
    )
}

/// Splits `s` at the given char positions (modulo its length).
fn fragments(s: &str, cuts: &[usize]) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (chars.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for point in points.into_iter().chain([chars.len()]) {
        out.push(chars[start..point].iter().collect());
        start = point;
    }
    out
}

fn ir_stream(blocks: &[GenBlock], stop: Option<StopReason>, usage: Usage, pings: bool) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::MessageStart {
        id: "msg_1".into(),
        model: "upstream".into(),
        usage: Usage { output_tokens: 1, ..usage },
    }];
    if pings {
        events.push(StreamEvent::Ping);
    }
    for (index, block) in blocks.iter().enumerate() {
        match block {
            GenBlock::Text(deltas) => {
                events.push(StreamEvent::BlockStart { index, block: BlockStart::Text });
                events.extend(
                    deltas.iter().map(|d| StreamEvent::BlockDelta { index, delta: BlockDelta::Text(d.clone()) }),
                );
            }
            GenBlock::Thinking(deltas, signature) => {
                events.push(StreamEvent::BlockStart { index, block: BlockStart::Thinking });
                events.extend(
                    deltas.iter().map(|d| StreamEvent::BlockDelta { index, delta: BlockDelta::Thinking(d.clone()) }),
                );
                if let Some(signature) = signature {
                    events.push(StreamEvent::BlockDelta { index, delta: BlockDelta::Signature(signature.clone()) });
                }
            }
            GenBlock::Tool(id, name, input, cuts) => {
                events.push(StreamEvent::BlockStart {
                    index,
                    block: BlockStart::ToolUse { id: id.clone(), name: name.clone() },
                });
                events.extend(
                    fragments(&input.to_string(), cuts)
                        .into_iter()
                        .map(|f| StreamEvent::BlockDelta { index, delta: BlockDelta::InputJson(f) }),
                );
            }
        }
        if pings {
            events.push(StreamEvent::Ping);
        }
        events.push(StreamEvent::BlockStop { index });
    }
    events.push(StreamEvent::MessageDelta { stop_reason: stop, stop_sequence: None, usage });
    events.push(StreamEvent::MessageStop);
    events
}

fn openai_stop_reason(stop: Option<StopReason>, has_tools: bool) -> StopReason {
    match stop {
        _ if has_tools => StopReason::ToolUse,
        Some(StopReason::MaxTokens | StopReason::ModelContextWindowExceeded) => StopReason::MaxTokens,
        Some(StopReason::ToolUse) => StopReason::ToolUse,
        _ => StopReason::EndTurn,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// IR → OpenAI chunks → (arbitrary byte chunking) → IR: same text, reasoning, tool calls and stop reason;
    /// usage when it was asked for.
    #[test]
    fn streams_survive_the_openai_codec(
        blocks in vec(gen_block(), 0..6),
        stop in stop_reason(),
        usage in usage(),
        include_usage in any::<bool>(),
        pings in any::<bool>(),
        cuts in vec(0usize..4000, 0..12),
    ) {
        let events = ir_stream(&blocks, stop, usage, pings);
        assert_complete(&events);
        let bytes = encode_openai(&events, include_usage);
        let decoded = decode_openai_cut(&bytes, &cuts);
        assert_complete(&decoded);
        prop_assert_eq!(&decoded, &decode_openai(&bytes), "chunking changed the events");

        let sent = summarize(&events);
        let got = summarize(&decoded);
        prop_assert_eq!(&got.text, &sent.text);
        prop_assert_eq!(&got.thinking, &sent.thinking);
        prop_assert_eq!(got.tool_calls.len(), sent.tool_calls.len());
        for (got, sent) in got.tool_calls.iter().zip(&sent.tool_calls) {
            prop_assert_eq!(&got.id, &sent.id);
            prop_assert_eq!(&got.name, &sent.name);
            prop_assert_eq!(got.input(), sent.input());
        }
        prop_assert_eq!(got.stop_reason, Some(openai_stop_reason(stop, !sent.tool_calls.is_empty())));
        let expected_usage = if include_usage {
            Usage {
                input_tokens: usage.input_tokens + usage.cache_write_tokens,
                output_tokens: usage.output_tokens,
                cache_read_tokens: usage.cache_read_tokens,
                cache_write_tokens: 0,
                reasoning_tokens: Some(usage.reasoning_tokens.unwrap_or(0)),
            }
        } else {
            // No usage from the backend: one output token per content chunk (one chunk per non-empty delta here).
            let content_deltas = events
                .iter()
                .filter(|e| match e {
                    StreamEvent::BlockDelta { delta: BlockDelta::Signature(_), .. } => false,
                    StreamEvent::BlockDelta {
                        delta: BlockDelta::Text(t) | BlockDelta::Thinking(t) | BlockDelta::InputJson(t), ..
                    } => !t.is_empty(),
                    _ => false,
                })
                .count() as u64;
            Usage { output_tokens: content_deltas, ..Usage::default() }
        };
        prop_assert_eq!(got.usage, Some(expected_usage));
        prop_assert_eq!(got.id.as_deref(), Some("chatcmpl-1"));
        prop_assert!(got.error.is_none());
    }

    /// IR → Anthropic events → (arbitrary byte chunking) → IR: identical events, but for the client's model
    /// name and sanitised tool ids.
    #[test]
    fn streams_survive_the_anthropic_codec(
        blocks in vec(gen_block(), 0..6),
        stop in stop_reason(),
        usage in usage(),
        pings in any::<bool>(),
        cuts in vec(0usize..4000, 0..12),
    ) {
        let events = ir_stream(&blocks, stop, usage, pings);
        let decoded = decode_anthropic_cut(&encode_anthropic(&events), &cuts);
        let expected: Vec<StreamEvent> = events
            .into_iter()
            .map(|event| match event {
                StreamEvent::MessageStart { id, usage, .. } => {
                    StreamEvent::MessageStart { id, model: "client-model".into(), usage: Usage { reasoning_tokens: None, ..usage } }
                }
                StreamEvent::MessageDelta { stop_reason, stop_sequence, usage } => {
                    StreamEvent::MessageDelta { stop_reason, stop_sequence, usage: Usage { reasoning_tokens: None, ..usage } }
                }
                StreamEvent::BlockStart { index, block: BlockStart::ToolUse { id, name } } => {
                    StreamEvent::BlockStart { index, block: BlockStart::ToolUse { id: tool_ids::to_anthropic(&id), name } }
                }
                other => other,
            })
            .collect();
        prop_assert_eq!(decoded, expected);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Messy OpenAI-compatible backends

#[derive(Debug, Clone)]
enum Segment {
    Text(Vec<String>),
    Reasoning(Vec<String>),
    /// id, name, arguments object, cut points.
    Call(String, String, Value, Vec<usize>),
}

#[derive(Debug, Clone, Copy)]
enum IndexStyle {
    Sequential,
    AllZero,
    Missing,
}

#[derive(Debug, Clone, Copy)]
enum Repeat {
    Absent,
    Null,
    Empty,
    Same,
}

#[derive(Debug, Clone)]
struct Style {
    index: IndexStyle,
    continuation_id: Repeat,
    continuation_name: Repeat,
    with_type: bool,
    /// Each call in a single chunk, arguments as a JSON object rather than a string.
    whole_objects: bool,
    reasoning_key: &'static str,
    empty_tool_calls_beside_text: bool,
    finish: &'static str,
    /// Finish reason in the chunk of the last delta rather than its own chunk.
    finish_inline: bool,
    /// (prompt, completion, cached) in a usage-only chunk after the finish.
    usage: Option<(u64, u64, u64)>,
    done: bool,
}

fn segment() -> impl Strategy<Value = Segment> {
    let deltas = || vec("[a-zA-Z0-9 ,.!?\né]{0,8}", 1..4);
    prop_oneof![
        3 => deltas().prop_map(Segment::Text),
        1 => deltas().prop_map(Segment::Reasoning),
        2 => ("call_[a-zA-Z0-9]{4,8}|functions\\.[a-z]{1,6}:[0-9]", tool_name(), json_object(), vec(0usize..200, 0..4))
            .prop_map(|(id, name, args, cuts)| Segment::Call(id, name, args, cuts)),
    ]
}

fn repeat() -> impl Strategy<Value = Repeat> {
    prop_oneof![Just(Repeat::Absent), Just(Repeat::Null), Just(Repeat::Empty), Just(Repeat::Same)]
}

fn style() -> impl Strategy<Value = Style> {
    (
        prop_oneof![Just(IndexStyle::Sequential), Just(IndexStyle::AllZero), Just(IndexStyle::Missing)],
        repeat(),
        repeat(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop_oneof![Just("reasoning"), Just("reasoning_content")],
        any::<bool>(),
        prop_oneof![Just("stop"), Just("tool_calls"), Just("length")],
        any::<bool>(),
        option::of((0u64..5000, 0u64..5000, 0u64..5000)),
        any::<bool>(),
    )
        .prop_map(
            |(
                index,
                continuation_id,
                continuation_name,
                with_type,
                whole_objects,
                reasoning_key,
                empty_tool_calls_beside_text,
                finish,
                finish_inline,
                usage,
                done,
            )| Style {
                index,
                continuation_id,
                continuation_name,
                with_type,
                whole_objects,
                reasoning_key,
                empty_tool_calls_beside_text,
                finish,
                finish_inline,
                usage,
                done,
            },
        )
}

fn messy_chunk(delta: Value) -> Value {
    json!({ "id": "gen-1", "object": "chat.completion.chunk", "created": 5, "model": "local",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": null }] })
}

fn repeated(value: &str, how: Repeat) -> Option<Value> {
    match how {
        Repeat::Absent => None,
        Repeat::Null => Some(Value::Null),
        Repeat::Empty => Some(json!("")),
        Repeat::Same => Some(json!(value)),
    }
}

fn messy_stream(segments: &[Segment], style: &Style) -> Vec<Value> {
    let mut chunks = vec![messy_chunk(json!({ "role": "assistant", "content": "" }))];
    let mut call_number = 0;
    for segment in segments {
        match segment {
            Segment::Text(deltas) => {
                for d in deltas {
                    let mut delta = json!({ "content": d });
                    if style.empty_tool_calls_beside_text {
                        delta["tool_calls"] = json!([]);
                    }
                    chunks.push(messy_chunk(delta));
                }
            }
            Segment::Reasoning(deltas) => {
                for d in deltas {
                    chunks.push(messy_chunk(json!({ "content": null, style.reasoning_key: d })));
                }
            }
            Segment::Call(id, name, args, cuts) => {
                let index = match style.index {
                    IndexStyle::Sequential => Some(call_number),
                    IndexStyle::AllZero => Some(0),
                    IndexStyle::Missing => None,
                };
                call_number += 1;
                let with_index = |mut call: Value| {
                    if let Some(index) = index {
                        call["index"] = json!(index);
                    }
                    call
                };
                if style.whole_objects {
                    let mut call = json!({ "id": id, "function": { "name": name, "arguments": args } });
                    if style.with_type {
                        call["type"] = json!("function");
                    }
                    chunks.push(messy_chunk(json!({ "tool_calls": [with_index(call)] })));
                    continue;
                }
                let mut first = json!({ "id": id, "function": { "name": name, "arguments": "" } });
                if style.with_type {
                    first["type"] = json!("function");
                }
                chunks.push(messy_chunk(json!({ "tool_calls": [with_index(first)] })));
                for fragment in fragments(&args.to_string(), cuts) {
                    let mut call = json!({ "function": { "arguments": fragment } });
                    if let Some(id) = repeated(id, style.continuation_id) {
                        call["id"] = id;
                    }
                    if let Some(name) = repeated(name, style.continuation_name) {
                        call["function"]["name"] = name;
                    }
                    chunks.push(messy_chunk(json!({ "tool_calls": [with_index(call)] })));
                }
            }
        }
    }
    if style.finish_inline && chunks.len() > 1 {
        chunks.last_mut().unwrap()["choices"][0]["finish_reason"] = json!(style.finish);
    } else {
        let mut finish = messy_chunk(json!({}));
        finish["choices"][0]["finish_reason"] = json!(style.finish);
        chunks.push(finish);
    }
    if let Some((prompt, completion, cached)) = style.usage {
        chunks.push(json!({ "id": "gen-1", "object": "chat.completion.chunk", "created": 5, "model": "local",
            "choices": [], "usage": { "prompt_tokens": prompt + cached, "completion_tokens": completion,
            "prompt_tokens_details": { "cached_tokens": cached } } }));
    }
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever combination of documented backend quirks, the decoder yields a well-formed IR stream with the
    /// text, reasoning and tool calls the backend sent.
    #[test]
    fn messy_backend_streams_decode(
        segments in vec(segment(), 0..6),
        style in style(),
        cuts in vec(0usize..4000, 0..12),
    ) {
        let bytes = openai_sse(&messy_stream(&segments, &style), style.done);
        let events = decode_openai_cut(&bytes, &cuts);
        assert_complete(&events);
        let summary = summarize(&events);

        let text: String = segments.iter().filter_map(|s| match s { Segment::Text(d) => Some(d.concat()), _ => None }).collect();
        let reasoning: String =
            segments.iter().filter_map(|s| match s { Segment::Reasoning(d) => Some(d.concat()), _ => None }).collect();
        let calls: Vec<(&String, &String, &Value)> =
            segments.iter().filter_map(|s| match s { Segment::Call(id, name, args, _) => Some((id, name, args)), _ => None }).collect();
        prop_assert_eq!(&summary.text, &text);
        prop_assert_eq!(&summary.thinking, &reasoning);
        prop_assert_eq!(summary.tool_calls.len(), calls.len(), "{:#?}", events);
        for (got, (id, name, args)) in summary.tool_calls.iter().zip(&calls) {
            prop_assert_eq!(&&got.id, id);
            prop_assert_eq!(&&got.name, name);
            prop_assert_eq!(&got.input(), *args);
        }
        let expected_stop = match style.finish {
            _ if !calls.is_empty() => StopReason::ToolUse,
            "length" => StopReason::MaxTokens,
            "tool_calls" => StopReason::ToolUse,
            _ => StopReason::EndTurn,
        };
        prop_assert_eq!(summary.stop_reason, Some(expected_stop));
        match style.usage {
            Some((prompt, completion, cached)) => {
                let expected = Usage { input_tokens: prompt, output_tokens: completion, cache_read_tokens: cached, ..Usage::default() };
                prop_assert_eq!(summary.usage, Some(expected));
            }
            None => {
                // Estimated: one output token per chunk that carried content, so between 1 and the number of deltas.
                let usage = summary.usage.unwrap_or_default();
                let deltas = events.iter().filter(|e| matches!(e, StreamEvent::BlockDelta { .. })).count() as u64;
                prop_assert_eq!(usage.input_tokens, 0);
                prop_assert!(usage.output_tokens <= deltas && (deltas == 0) == (usage.output_tokens == 0), "{usage:?} for {deltas} deltas");
            }
        }
    }

    /// Arbitrary bytes never panic either decoder.
    #[test]
    fn decoders_never_panic(bytes in vec(any::<u8>(), 0..400), text in "(data: |event: |\\{|\\}|\"|type|choices|\\[DONE\\]|\n|:| )*") {
        for input in [&bytes[..], text.as_bytes()] {
            let mut parser = bivio_protocol::sse::SseParser::new();
            let Ok(frames) = parser.feed(input) else { continue };
            let mut openai_decoder = openai::StreamDecoder::new();
            let mut anthropic_decoder = anthropic::StreamDecoder::new();
            for frame in &frames {
                let _ = openai_decoder.decode(frame);
                let _ = anthropic_decoder.decode(frame);
            }
            let _ = openai_decoder.end_of_input();
        }
    }
}
