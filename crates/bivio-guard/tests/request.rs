//! `scan_request` covers every place the upstream would see; `Policy::decide` is strictest-wins; config
//! errors name the TOML path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bivio_guard::{
    Action, BlockPart, GuardConfig, GuardDecision, Kind, Place, Policy, Redactor, RestoreMode, Scanner, Sensitivity,
    ToolPart,
};
use bivio_protocol::ir::{Block, ChatRequest, ImageSource, Message, Role, SystemText, Tool, ToolResultContent};
use serde_json::json;

fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        system: vec![SystemText { text: "Operator: ops@bivio.example.com".into(), cache_control: None }],
        messages: vec![
            Message { role: Role::User, content: vec![Block::text("my card is 4111 1111 1111 1111")] },
            Message {
                role: Role::Assistant,
                content: vec![
                    Block::Thinking { thinking: "user IBAN GB82WEST12345698765432".into(), signature: None },
                    Block::ToolUse {
                        id: "t1".into(),
                        name: "lookup".into(),
                        input: json!({"cf": "RSSMRA85T10A562S", "n": [1, {"ip": "203.0.113.77"}]}),
                        cache_control: None,
                    },
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    Block::ToolResult {
                        tool_use_id: "t1".into(),
                        content: ToolResultContent::Blocks(vec![
                            Block::text("ok"),
                            Block::text("piva 01114601006"),
                            Block::Image {
                                source: ImageSource::Url { url: "https://x/y.png".into() },
                                cache_control: None,
                            },
                        ]),
                        is_error: false,
                        cache_control: None,
                    },
                    Block::Document {
                        source: json!({"type": "text", "media_type": "text/plain", "data": "SSN 536-90-4399"}),
                        rest: serde_json::Map::new(),
                    },
                    Block::Document {
                        source: json!({"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}),
                        rest: serde_json::Map::new(),
                    },
                ],
            },
        ],
        tools: vec![Tool {
            name: "lookup".into(),
            description: Some("Ask support@bivio.example.com".into()),
            input_schema: json!({"type": "object", "properties": {"phone": {"default": "+39 347 555 0192"}}}),
            strict: None,
        }],
        ..ChatRequest::default()
    }
}

fn user(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message { role: Role::User, content: vec![Block::text(text)] }],
        ..ChatRequest::default()
    }
}

fn count(s: &Sensitivity, kind: Kind) -> usize {
    s.counts.get(&kind).copied().unwrap_or(0)
}

#[test]
fn every_place_is_scanned() {
    let scanner = Scanner::new(&GuardConfig::default()).unwrap();
    let s = scanner.scan_request(&request());
    assert_eq!(count(&s, Kind::Email), 2);
    assert_eq!(count(&s, Kind::PaymentCard), 1);
    assert_eq!(count(&s, Kind::Iban), 1);
    assert_eq!(count(&s, Kind::CodiceFiscale), 1);
    assert_eq!(count(&s, Kind::IpAddress), 1);
    assert_eq!(count(&s, Kind::PartitaIva), 1);
    assert_eq!(count(&s, Kind::UsSsn), 1);
    assert_eq!(count(&s, Kind::Phone), 1);
    assert_eq!(s.images, 1);
    assert_eq!(s.opaque_documents, 1);
    let places: Vec<&Place> = s.findings.iter().map(|f| &f.place).collect();
    assert!(places.contains(&&Place::System { index: 0 }));
    assert!(places.contains(&&Place::Message { index: 1, block: 1, part: BlockPart::ToolInput { string: 1 } }));
    assert!(places.contains(&&Place::Message { index: 1, block: 1, part: BlockPart::ToolInput { string: 5 } }));
    assert!(places.contains(&&Place::Message { index: 2, block: 0, part: BlockPart::ToolResult { block: 1 } }));
    assert!(places.contains(&&Place::ToolDefinition { index: 0, part: ToolPart::Description }));
    assert!(places.contains(&&Place::ToolDefinition { index: 0, part: ToolPart::Schema { string: 5 } }));
    // Labels and counts only.
    assert_eq!(
        s.summary(),
        "email=2,phone=1,iban=1,payment_card=1,codice_fiscale=1,partita_iva=1,us_ssn=1,ip_address=1"
    );
}

#[test]
fn strictest_action_wins() {
    let config: GuardConfig = toml::from_str(
        r#"
        default_action = "redact"
        images = "allow"
        [actions]
        payment_card = "block"
        ip_address = "allow"
        iban = "local_only"
        "#,
    )
    .unwrap();
    let scanner = Scanner::new(&config).unwrap();
    let policy = Policy::new(&config).unwrap();
    let decide = |text: &str| policy.decide(&scanner.scan_request(&user(text)));
    assert_eq!(decide("nothing here"), GuardDecision::Allow);
    assert_eq!(decide("from 203.0.113.77"), GuardDecision::Allow);
    assert_eq!(decide("a@b.io from 203.0.113.77"), GuardDecision::Redact { kinds: vec![Kind::Email] });
    assert_eq!(
        decide("a@b.io GB82WEST12345698765432"),
        GuardDecision::LocalOnly { kinds: vec![Kind::Iban], images: false }
    );
    assert_eq!(
        decide("GB82WEST12345698765432 4111111111111111"),
        GuardDecision::Block { kinds: vec![Kind::PaymentCard], images: false }
    );
}

#[test]
fn defaults_are_local_only_and_images_follow_strict_rules() {
    let policy = Policy::new(&GuardConfig::default()).unwrap();
    for kind in Kind::BUILTIN {
        assert_eq!(policy.action(&kind), Action::LocalOnly);
    }
    assert_eq!(policy.images_action(), Action::LocalOnly);
    let scanner = Scanner::new(&GuardConfig::default()).unwrap();
    let s = scanner.scan_request(&request());
    assert!(matches!(policy.decide(&s), GuardDecision::LocalOnly { images: true, .. }));
    let lenient: GuardConfig = toml::from_str("default_action = \"redact\"").unwrap();
    assert_eq!(Policy::new(&lenient).unwrap().images_action(), Action::Allow);
}

#[test]
fn config_errors_name_the_path() {
    let unknown = toml::from_str::<GuardConfig>("[actions]\nemial = \"redact\"").unwrap_err().to_string();
    assert!(unknown.contains("emial"), "{unknown}");
    let bad: GuardConfig = toml::from_str(
        r#"
        [[custom_regexes]]
        name = "codes"
        pattern = "PRJ-[0-9"
        "#,
    )
    .unwrap();
    let error = Scanner::new(&bad).unwrap_err().to_string();
    assert!(error.starts_with("guard.custom_regexes[0].pattern: invalid regex"), "{error}");
    let dup: GuardConfig = toml::from_str(
        r#"
        [[custom_terms]]
        name = "email"
        terms = ["x"]
        "#,
    )
    .unwrap();
    assert!(Scanner::new(&dup).unwrap_err().to_string().starts_with("guard.custom_terms[0].name"));
    let images: GuardConfig = toml::from_str("images = \"redact\"").unwrap();
    assert!(Policy::new(&images).unwrap_err().to_string().starts_with("guard.images"));
}

#[test]
fn custom_terms_are_whole_words_case_insensitive() {
    let config: GuardConfig = toml::from_str(
        r#"
        [[custom_terms]]
        name = "clients"
        terms = ["Acme", "Globex Corp"]
        action = "block"
        "#,
    )
    .unwrap();
    let scanner = Scanner::new(&config).unwrap();
    let found = |t: &str| scanner.scan_text(t).len();
    assert_eq!(found("ACME and globex corp"), 2);
    assert_eq!(found("Acmeè, acmes, MyAcme, Globex Corporation"), 0);
    let policy = Policy::new(&config).unwrap();
    assert_eq!(policy.action(&Kind::Custom("clients".into())), Action::Block);
}

#[test]
fn redacted_request_holds_no_redacted_kind_and_restores() {
    let scanner = Scanner::new(&GuardConfig::default()).unwrap();
    let mut req = request();
    req.messages[1]
        .content
        .insert(0, Block::Thinking { thinking: "mail ops@bivio.example.com".into(), signature: Some("sig".into()) });
    let mut redactor = Redactor::new();
    let outcome = redactor.redact_request(&scanner, &mut req, &|k| *k != Kind::Email);
    assert!(outcome.is_complete(), "signed thinking has only an e-mail, which is not redacted here");
    let after = scanner.scan_request(&req);
    assert_eq!(after.counts.keys().collect::<Vec<_>>(), vec![&Kind::Email], "{}", after.summary());
    assert_eq!(count(&after, Kind::Email), 3);
    // The tool call's input restores to the original JSON, streamed in JSON mode.
    let Block::ToolUse { input, .. } = &req.messages[1].content[2] else { panic!("tool use moved") };
    assert_eq!(input["cf"], "[[CODICE_FISCALE_1]]");
    let mut restorer = redactor.restorer(RestoreMode::JsonString);
    let wire = serde_json::to_string(input).unwrap();
    let mut restored = restorer.push(&wire[..9]);
    restored.push_str(&restorer.push(&wire[9..]));
    restored.push_str(&restorer.finish());
    let original = json!({"cf": "RSSMRA85T10A562S", "n": [1, {"ip": "203.0.113.77"}]});
    assert_eq!(serde_json::from_str::<serde_json::Value>(&restored).unwrap(), original);
    // Signed thinking with a finding to redact is reported, not changed.
    let mut again = request();
    again.messages[1]
        .content
        .insert(0, Block::Thinking { thinking: "mail ops@bivio.example.com".into(), signature: Some("sig".into()) });
    let outcome = Redactor::new().redact_request(&scanner, &mut again, &|_| true);
    assert_eq!(outcome.signed_thinking_with_findings, 1);
}
