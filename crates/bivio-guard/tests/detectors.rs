//! Detector edge cases, one line each: what is found (kind and exact text) and what is not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bivio_guard::{GuardConfig, Scanner};

fn found(text: &str) -> Vec<(String, String)> {
    let scanner = Scanner::new(&GuardConfig::default()).unwrap();
    scanner
        .scan_text(text)
        .into_iter()
        .map(|f| (f.kind.label().into_owned(), text[f.start..f.end].to_owned()))
        .collect()
}

fn one(text: &str, kind: &str, value: &str) {
    assert_eq!(found(text), vec![(kind.to_owned(), value.to_owned())], "in {text:?}");
}

fn none(text: &str) {
    assert_eq!(found(text), vec![], "in {text:?}");
}

#[test]
fn ip_addresses() {
    one("allow 10.1.2.0/24 now", "ip_address", "10.1.2.0/24");
    one("at 10.1.2.3:8080.", "ip_address", "10.1.2.3");
    one("mapped ::ffff:192.0.2.1 here", "ip_address", "::ffff:192.0.2.1");
    one("link fe80::1ff:fe23:4567:890a%eth0", "ip_address", "fe80::1ff:fe23:4567:890a");
    none("localhost 127.0.0.1, any 0.0.0.0, ::1, 255.255.255.255");
    none("1.2.3 and 300.1.1.1 and 10.0.19041.1");
}

#[test]
fn secrets() {
    one(
        "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789 end",
        "secret_anthropic",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
    );
    one("AKIAIOSFODNN7EXAMPLE.", "secret_aws", "AKIAIOSFODNN7EXAMPLE");
    one(
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n(truncated)",
        "private_key",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n(truncated)",
    );
    none("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
    none("sk-1234 task-sk-abc ghp_short xoxb-1 eyJhbGciOi");
    none("password: hunter2 token = abcdefabcdefabcdef api_key = ${API_KEY}");
}

#[test]
fn numbers() {
    one("(4111-1111-1111-1111)", "payment_card", "4111-1111-1111-1111");
    one("SSN: 536 90 4399.", "us_ssn", "536 90 4399");
    one("tel. 06/4567890", "phone", "06/4567890");
    one("call 1-415-555-0132", "phone", "1-415-555-0132");
    none("on 2024-03-15, 15/03/2024, 03.15.2024 at 14:30");
    none("$4111111111111111 #3471234567 v3471234567 ORD-3471234567");
    none("123-45-6789 000-12-3456 536-00-4399 536-90-0000");
}

#[test]
fn identifiers() {
    one("cf rssmra85t10a562s (lower case)", "codice_fiscale", "rssmra85t10a562s");
    one("omocodia RSSMRA85T10A56NH ok", "codice_fiscale", "RSSMRA85T10A56NH");
    none("RSSMRA85T10A562X RsSMRA85T10A562S");
    none("IT60 X054 2811 1010 0000 0123 45");
}

#[test]
fn allowed_values_are_never_findings() {
    let scanner = Scanner::new(&GuardConfig::default()).unwrap();
    // Claude Code's system prompt carries this address in every request.
    let text = "Co-Authored-By: Claude <noreply@anthropic.com>, reach me at mario.rossi@libero.it";
    let findings = scanner.scan_text(text);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(&text[findings[0].start..findings[0].end], "mario.rossi@libero.it");

    let config = GuardConfig { allow: vec!["Mario.Rossi@libero.it".into()], ..GuardConfig::default() };
    assert!(Scanner::new(&config).unwrap().scan_text(text).is_empty());
}
