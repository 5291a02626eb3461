//! The router and the privacy guard on the request path: routing headers, sensitive requests kept local,
//! blocked requests, fail-closed 503s, fallbacks, redaction with restored answers — and the leak test:
//! thousands of randomised requests with sensitive values hidden everywhere, none of which may reach the
//! "cloud" (the mock's Anthropic endpoint, which records everything it receives).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Harness, chat_body};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Emails and phone numbers are redacted for the cloud; everything else stays local (the default). The
/// custom rules are those the guard's corpus is labelled with.
const GUARD: &str = r#"
[guard]
[guard.actions]
email = "redact"
phone = "redact"
[[guard.custom_terms]]
name = "clients"
terms = ["Acme Corp", "Globex"]
[[guard.custom_regexes]]
name = "project_codes"
pattern = "\bPRJ-[0-9]{4}\b"
"#;

fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Calls the mock received on its Anthropic endpoint: the cloud in these tests.
fn cloud_bodies(h: &Harness) -> Vec<String> {
    h.mock.calls().into_iter().filter(|c| c.path.starts_with("/v1/messages")).map(|c| c.body.to_string()).collect()
}

fn local_calls(h: &Harness) -> usize {
    h.mock.calls().iter().filter(|c| c.path == "/v1/chat/completions").count()
}

#[tokio::test]
async fn every_answer_says_category_route_and_reason() {
    let h = common::start_with_extra(GUARD).await;
    let response = h.anthropic(chat_body("anthropic", "claude", "what is the capital of France?", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-bivio-category"), "chat");
    assert_eq!(header(&response, "x-bivio-route"), "cloud");
    assert_eq!(header(&response, "x-bivio-reason"), "model claude requested");

    // `bivio/auto`: the policy decides (a simple question → local) and the answer names the serving model.
    let response = h.openai(chat_body("openai", "bivio/auto", "what is the capital of France?", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-bivio-route"), "local");
    assert!(header(&response, "x-bivio-reason").contains("category chat -> local"), "{:?}", response.headers());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["model"], "local-upstream", "same API: the upstream's answer, passed through");

    // Agentic work goes to the cloud.
    let mut agentic = chat_body("anthropic", "bivio/auto", "book the flight for me", false);
    agentic["tools"] =
        json!([{ "name": "book_flight", "description": "Books a flight", "input_schema": { "type": "object" } }]);
    let response = h.anthropic(agentic).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-bivio-category"), "agentic");
    assert_eq!(header(&response, "x-bivio-route"), "cloud");

    // A client override.
    let response = h
        .http
        .post(format!("{}/v1/chat/completions", h.base))
        .header("x-bivio-route", "cloud")
        .json(&chat_body("openai", "bivio/auto", "hello", false))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "x-bivio-route"), "cloud");
    assert!(header(&response, "x-bivio-reason").contains("override: x-bivio-route cloud"));

    // Errors carry the headers too.
    let response = h.anthropic(chat_body("anthropic", "nope", "hello", false)).await;
    assert_eq!(response.status(), 404);
    assert_eq!(header(&response, "x-bivio-route"), "refused");
}

#[tokio::test]
async fn sensitive_requests_stay_local_and_the_ledger_says_why() {
    let mut h = common::start_with_extra(&format!("{GUARD}\n[router]\nlocal = [\"local\"]\n")).await;
    for api in ["anthropic", "openai"] {
        for stream in [false, true] {
            let text = "Pay the invoice to IBAN IT60 X054 2811 1010 0000 0123 456 today.";
            let response = h.send(api, chat_body(api, "claude", text, stream)).await;
            assert_eq!(response.status(), 200, "{api} stream={stream}");
            assert_eq!(header(&response, "x-bivio-route"), "local");
            let reason = header(&response, "x-bivio-reason").to_owned();
            assert!(reason.starts_with("guard: iban=1 -> local_only"), "{reason}");
            assert!(reason.contains("claude is a cloud model; kept on local models"), "{reason}");
            assert!(!reason.contains("IT60"), "reasons never carry values: {reason}");
            let body = response.text().await.unwrap();
            let answer = if stream { streamed_text(api, &body) } else { complete_text(api, &body) };
            assert!(answer.contains("IT60 X054"), "the local model saw the original: {answer}");
        }
    }
    assert!(cloud_bodies(&h).is_empty(), "nothing reached the cloud");
    assert_eq!(local_calls(&h), 4);

    let rows = h.ledger_rows().await;
    assert_eq!(rows.len(), 4);
    for row in &rows {
        assert_eq!(row["sensitivity_kinds"], r#"["iban"]"#);
        assert_eq!(row["guard_action"], "local_only");
        assert_eq!(row["route"], "local");
        assert_eq!(row["local"], 1);
        assert_eq!(row["category"], "business_finance");
        let reasons: Vec<String> = serde_json::from_str(row["reasons"].as_str().unwrap()).unwrap();
        assert_eq!(reasons[0], "guard: iban=1 -> local_only");
        assert!(!row.to_string().contains("X054"), "no value in the ledger: {row}");
    }
}

#[tokio::test]
async fn blocked_kinds_get_a_403_in_the_clients_shape() {
    let h = common::start_with_extra("[guard.actions]\npayment_card = \"block\"\n").await;
    let text = "my card is 4111 1111 1111 1111";
    let response = h.anthropic(chat_body("anthropic", "local", text, false)).await;
    assert_eq!(response.status(), 403);
    assert_eq!(header(&response, "x-bivio-route"), "refused");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "permission_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("payment_card=1"), "{message}");
    assert!(!message.contains("4111"), "{message}");

    let response = h.openai(chat_body("openai", "bivio/auto", text, true)).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "permission_error");
    assert!(h.mock.calls().is_empty(), "a blocked request reaches no upstream");
}

#[tokio::test]
async fn sensitive_requests_fail_closed_when_local_models_are_down() {
    // The only local model is `dead`: a sensitive request must get a 503, never Claude.
    let h = common::start_with_extra("[router]\nlocal = [\"dead\"]\n").await;
    for (api, model) in [("anthropic", "claude"), ("openai", "bivio/auto"), ("anthropic", "bivio/auto")] {
        let text = "the server key is AKIAIOSFODNN7EXAMPLE, deploy it";
        let response = h.send(api, chat_body(api, model, text, false)).await;
        assert_eq!(response.status(), 503, "{api} {model}");
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("not sent to a cloud model"), "{message}");
        assert!(!message.contains("AKIA"), "{message}");
    }
    assert!(cloud_bodies(&h).is_empty());
    // The same request without the key goes to the cloud as asked.
    let response = h.anthropic(chat_body("anthropic", "claude", "deploy it", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(cloud_bodies(&h).len(), 1);
}

#[tokio::test]
async fn a_failed_model_falls_back_to_the_next_in_the_chain() {
    let extra =
        "[[router.rules]]\nwhen = { category = \"chat\" }\nroute = [\"dead\", \"local\"]\nreason = \"chat chain\"\n";
    let mut h = common::start_with_extra(extra).await;
    let response = h.anthropic(chat_body("anthropic", "bivio/auto", "hello there", true)).await;
    assert_eq!(response.status(), 200);
    let reason = header(&response, "x-bivio-reason").to_owned();
    assert!(reason.contains("rule 1: chat chain"), "{reason}");
    assert!(reason.contains("fallback: dead failed (bad_gateway)"), "{reason}");
    let text = response.text().await.unwrap();
    assert!(text.contains("message_stop"), "{text}");

    let rows = h.ledger_rows().await;
    let id = rows[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(rows[0]["attempts"], 2);
    assert_eq!(rows[0]["provider"], "local");
    assert_eq!(rows[0]["status"], "ok");
    let attempts = h.attempt_rows(&id);
    assert_eq!(attempts, vec![(1, "dead".to_owned(), "error".to_owned()), (2, "local".to_owned(), "ok".to_owned())]);
}

#[tokio::test]
async fn redacted_values_never_reach_the_cloud_and_come_back_restored() {
    let h = common::start_with_extra(GUARD).await;
    let email = "mario.rossi@example.com";
    for api in ["anthropic", "openai"] {
        for stream in [false, true] {
            let text = format!("write to {email} and to {email} again");
            let response = h.send(api, chat_body(api, "claude", &text, stream)).await;
            assert_eq!(response.status(), 200);
            assert_eq!(header(&response, "x-bivio-route"), "cloud");
            assert!(header(&response, "x-bivio-reason").starts_with("guard: email=2 -> redact"));
            let body = response.text().await.unwrap();
            // The mock echoes what it saw: the placeholder, restored on the way back.
            let answer = if stream { streamed_text(api, &body) } else { complete_text(api, &body) };
            assert_eq!(answer, format!("echo: {text}"), "{api} stream={stream}");
        }
    }
    let bodies = cloud_bodies(&h);
    assert_eq!(bodies.len(), 4);
    for body in bodies {
        assert!(!body.contains(email), "{body}");
        assert!(body.contains("write to [[EMAIL_1]] and to [[EMAIL_1]] again"), "{body}");
    }
}

#[tokio::test]
async fn count_tokens_never_sends_sensitive_text_to_the_cloud() {
    let h = common::start_with_extra(GUARD).await;
    let count = |text: &str| {
        h.http
            .post(format!("{}/v1/messages/count_tokens", h.base))
            .header("anthropic-version", "2023-06-01")
            .json(&json!({ "model": "claude", "messages": [{ "role": "user", "content": text }] }))
            .send()
    };
    assert_eq!(count("hello").await.unwrap().status(), 200);
    assert_eq!(cloud_bodies(&h).len(), 1, "plain text is counted by Claude");
    let response = count("IBAN IT60 X054 2811 1010 0000 0123 456").await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(cloud_bodies(&h).len(), 1, "sensitive text is estimated locally");
}

fn complete_text(api: &str, body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap();
    match api {
        "anthropic" => value["content"][0]["text"].as_str().unwrap().to_owned(),
        _ => value["choices"][0]["message"]["content"].as_str().unwrap().to_owned(),
    }
}

fn streamed_text(api: &str, body: &str) -> String {
    let mut out = String::new();
    for (_, data) in common::frames(body) {
        let Ok(value) = serde_json::from_str::<Value>(&data) else { continue };
        let piece = match api {
            "anthropic" => value["delta"]["text"].as_str(),
            _ => value["choices"][0]["delta"]["content"].as_str(),
        };
        out.push_str(piece.unwrap_or(""));
    }
    out
}

// ---------------------------------------------------------------------------------------------------------
// The leak test.

/// One labelled sentence of the guard's corpus: its text and the sensitive values in it.
struct Sample {
    text: String,
    values: Vec<(String, String)>,
}

fn corpus() -> Vec<Sample> {
    let files = [
        include_str!("../../bivio-guard/tests/corpus/generated.jsonl"),
        include_str!("../../bivio-guard/tests/corpus/handwritten.jsonl"),
    ];
    let mut samples = Vec::new();
    for line in files.iter().flat_map(|f| f.lines()) {
        let value: Value = serde_json::from_str(line).unwrap();
        let values: Vec<(String, String)> = value["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["kind"].as_str().unwrap().to_owned(), l["value"].as_str().unwrap().to_owned()))
            .collect();
        if !values.is_empty() {
            samples.push(Sample { text: value["text"].as_str().unwrap().to_owned(), values });
        }
    }
    samples
}

const FILLER: &str = "The quarterly review covered delivery timelines, staffing and the roadmap for next year. ";

/// Where the sensitive text hides.
#[derive(Debug, Clone, Copy)]
enum Place {
    System,
    EarlyTurn,
    LastTurn,
    ToolResult,
    LongDocument,
    ToolDescription,
}

const PLACES: [Place; 6] =
    [Place::System, Place::EarlyTurn, Place::LastTurn, Place::ToolResult, Place::LongDocument, Place::ToolDescription];

/// A request body for `api` with `secret` hidden at `place`.
fn leak_body(api: &str, model: &str, stream: bool, place: Place, secret: &str, rng: &mut StdRng) -> Value {
    let plain = "Summarise the status in one line.";
    let mut system = "You are a helpful assistant.".to_owned();
    let mut turns: Vec<(String, String)> = (0..rng.random_range(1..5))
        .map(|i| (format!("question {i}: {}", FILLER), format!("answer {i}: noted.")))
        .collect();
    let mut last = plain.to_owned();
    let mut tool_result = None;
    let mut tool_description = "Looks up a record.".to_owned();
    match place {
        Place::System => system = format!("{system} Context: {secret}"),
        Place::EarlyTurn => {
            let i = rng.random_range(0..turns.len());
            turns[i].0 = format!("{} {secret}", turns[i].0);
        }
        Place::LastTurn => last = format!("{plain} {secret}"),
        Place::ToolResult => tool_result = Some(format!("record found: {secret}")),
        Place::LongDocument => {
            let half = FILLER.repeat(rng.random_range(20..120));
            last = format!("Read this document and answer.\n\n{half}\n{secret}\n{half}\n\nWhat is it about?");
        }
        Place::ToolDescription => tool_description = format!("Looks up a record. Example: {secret}"),
    }
    let tools = [("lookup", tool_description)];
    match api {
        "anthropic" => {
            let mut messages = Vec::new();
            for (user, assistant) in &turns {
                messages.push(json!({ "role": "user", "content": user }));
                messages.push(json!({ "role": "assistant", "content": assistant }));
            }
            if let Some(result) = &tool_result {
                messages.push(json!({ "role": "user", "content": "look it up" }));
                messages.push(json!({ "role": "assistant", "content": [
                    { "type": "tool_use", "id": "toolu_1", "name": "lookup", "input": { "id": 7 } }
                ]}));
                messages.push(json!({ "role": "user", "content": [
                    { "type": "tool_result", "tool_use_id": "toolu_1", "content": result },
                    { "type": "text", "text": last },
                ]}));
            } else {
                messages.push(json!({ "role": "user", "content": last }));
            }
            json!({
                "model": model, "max_tokens": 64, "stream": stream, "system": system, "messages": messages,
                "tools": tools.iter().map(|(name, description)| json!({
                    "name": name, "description": description, "input_schema": { "type": "object" }
                })).collect::<Vec<_>>(),
            })
        }
        _ => {
            let mut messages = vec![json!({ "role": "system", "content": system })];
            for (user, assistant) in &turns {
                messages.push(json!({ "role": "user", "content": user }));
                messages.push(json!({ "role": "assistant", "content": assistant }));
            }
            if let Some(result) = &tool_result {
                messages.push(json!({ "role": "user", "content": "look it up" }));
                messages.push(json!({ "role": "assistant", "content": null, "tool_calls": [
                    { "id": "call_1", "type": "function", "function": { "name": "lookup", "arguments": "{\"id\":7}" } }
                ]}));
                messages.push(json!({ "role": "tool", "tool_call_id": "call_1", "content": result }));
            }
            messages.push(json!({ "role": "user", "content": last }));
            json!({
                "model": model, "stream": stream, "messages": messages,
                "tools": tools.iter().map(|(name, description)| json!({ "type": "function", "function": {
                    "name": name, "description": description, "parameters": { "type": "object" }
                }})).collect::<Vec<_>>(),
            })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leak_test_no_sensitive_value_reaches_the_cloud() {
    const REQUESTS: usize = 2000;
    let h = common::start_with_extra(&format!("{GUARD}\n[router]\nlocal = [\"local\"]\n")).await;
    // Half the requests carry only kinds the config redacts (they may go to the cloud, redacted), half carry
    // at least one kind that must stay local.
    let (redactable, strict): (Vec<Sample>, Vec<Sample>) =
        corpus().into_iter().partition(|s| s.values.iter().all(|(kind, _)| kind == "email" || kind == "phone"));
    let mut rng = StdRng::seed_from_u64(20261204);
    let (mut to_cloud, mut restored_checked, mut calls) = (0, 0, 0);
    let mut all_values: Vec<String> = Vec::new();
    for i in 0..REQUESTS {
        let api = if rng.random_bool(0.5) { "anthropic" } else { "openai" };
        let stream = rng.random_bool(0.5);
        let model = ["claude", "claude", "bivio/auto", "local"][rng.random_range(0..4)];
        let place = PLACES[rng.random_range(0..PLACES.len())];
        let pool = if rng.random_bool(0.5) { &redactable } else { &strict };
        let mut picked: Vec<&Sample> = vec![&pool[rng.random_range(0..pool.len())]];
        if rng.random_bool(0.3) {
            picked.push(&redactable[rng.random_range(0..redactable.len())]);
        }
        let secret = picked.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        let body = leak_body(api, model, stream, place, &secret, &mut rng);
        let response = h.send(api, body).await;
        let status = response.status();
        let route = header(&response, "x-bivio-route").to_owned();
        let header_reason = header(&response, "x-bivio-reason").to_owned();
        let text = response.text().await.unwrap();
        assert_eq!(status, 200, "request {i} ({api}, {model}, {place:?}): {text}");
        calls += 1;
        assert_eq!(h.mock.stats().calls, calls, "request {i}: exactly one upstream call");

        // Only redacted kinds may go to the cloud at all; their values come back restored.
        let only_redacted = picked.iter().flat_map(|s| &s.values).all(|(kind, _)| kind == "email" || kind == "phone");
        if route == "cloud" {
            to_cloud += 1;
            let kinds: Vec<&(String, String)> = picked.iter().flat_map(|s| &s.values).collect();
            let reason = header_reason.clone();
            assert!(only_redacted, "request {i} ({api}, {model}, {place:?}): {kinds:?} routed to the cloud: {reason}");
            if matches!(place, Place::LastTurn) {
                let answer = if stream { streamed_text(api, &text) } else { complete_text(api, &text) };
                for (_, value) in picked.iter().flat_map(|s| &s.values) {
                    assert!(answer.contains(value.as_str()), "request {i}: `{value}` not restored in {answer}");
                }
                restored_checked += 1;
            }
        } else {
            assert_eq!(route, "local", "request {i}");
        }
        all_values.extend(picked.iter().flat_map(|s| s.values.iter().map(|(_, v)| v.clone())));
    }
    // Everything the cloud ever received, searched for every value sent (raw and JSON-escaped).
    let cloud = cloud_bodies(&h);
    assert_eq!(cloud.len(), to_cloud, "the cloud got exactly the requests routed there");
    let cloud = cloud.join("\n");
    all_values.sort();
    all_values.dedup();
    for value in &all_values {
        let escaped = serde_json::to_string(value).unwrap();
        assert!(
            !cloud.contains(value.as_str()) && !cloud.contains(escaped.trim_matches('"')),
            "a sensitive value reached the cloud: {value}"
        );
    }
    // The test must have exercised both sides.
    assert!(to_cloud > 200, "only {to_cloud} requests went to the cloud");
    assert!(restored_checked > 30, "only {restored_checked} restored answers checked");
    assert!(all_values.len() > 300, "only {} distinct values", all_values.len());
}
