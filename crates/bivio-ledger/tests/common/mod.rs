//! A deterministic ledger for tests and snapshots: three days of traffic over a cloud Claude model, a
//! cloud OpenAI model and a local model, with keys, categories, errors, streams and cache use.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use bivio_ledger::record::{AttemptRecord, LedgerRecord, Status, StoredContent};
use bivio_ledger::{Baseline, HardwareCost, Price, Pricing};
use bivio_protocol::Api;
use bivio_protocol::ir::Usage;
use rust_decimal::Decimal;
use uuid::Uuid;

/// 2025-01-01 00:00:00 UTC.
pub const BASE_MS: i64 = 1_735_689_600_000;
pub const DAY_MS: i64 = 86_400_000;
/// The seeded window ends three days after `BASE_MS`.
pub const UNTIL_MS: i64 = BASE_MS + 3 * DAY_MS;

pub fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn sonnet() -> Price {
    Price { input: d("3"), output: d("15"), cache_read: d("0.30"), cache_write: d("3.75") }
}

pub fn mini() -> Price {
    Price { input: d("0.15"), output: d("0.60"), cache_read: d("0.075"), cache_write: Decimal::ZERO }
}

pub fn rtx() -> HardwareCost {
    HardwareCost { purchase_usd: d("2000"), lifetime_months: 36, power_w: d("450"), kwh_usd: d("0.30") }
}

pub fn baseline() -> Baseline {
    Baseline { model: "claude-sonnet-4-5".into(), price: sonnet() }
}

/// A deterministic UUIDv7-shaped id for request `n` at `ts_ms` (ordered like real v7 ids).
pub fn id(ts_ms: i64, n: u64) -> Uuid {
    let ts = ts_ms as u64;
    let high = (ts << 16) | 0x7000 | (n >> 48 & 0x0fff);
    let low = 0x8000_0000_0000_0000 | (n & 0x3fff_ffff_ffff_ffff);
    Uuid::from_u64_pair(high, low)
}

/// Request `n` of the seeded ledger (0 ≤ n < `SEEDED`), with its attempts.
pub fn seeded(n: u64) -> (LedgerRecord, Vec<AttemptRecord>) {
    let ts_ms = BASE_MS + (n as i64) * 2 * 3_600_000 + (n as i64 % 7) * 60_000; // every 2 h, 36 in 3 days
    let which = n % 4; // 0, 1 → local; 2 → sonnet; 3 → mini
    let (provider, model, local, pricing) = match which {
        0 | 1 => ("local", "gemma-3-270m", true, Pricing::Hardware(rtx())),
        2 => ("claude", "claude-sonnet-4-5", false, Pricing::PerToken(sonnet())),
        _ => ("openai", "gpt-4o-mini", false, Pricing::PerToken(mini())),
    };
    let failed = n % 11 == 5;
    let streamed = !n.is_multiple_of(3);
    let usage = if failed {
        Usage::default()
    } else {
        Usage {
            input_tokens: 8_000 + 1_337 * n,
            output_tokens: 600 + 53 * n,
            cache_read_tokens: if which == 2 {
                10_000
            } else if which == 3 {
                1_024 * (n % 3)
            } else {
                0
            },
            cache_write_tokens: if which == 2 && n % 8 == 2 { 2_000 } else { 0 },
            reasoning_tokens: (which == 3).then_some(10),
        }
    };
    // Time to first token, then generation at 45 tokens/s locally and 80 tokens/s in the cloud.
    let (first_token_us, tokens_per_s) = if local { (120_000 + 1_000 * n, 45) } else { (400_000 + 2_000 * n, 80) };
    let total_us = first_token_us + usage.output_tokens * 1_000_000 / tokens_per_s + if failed { 2_000_000 } else { 0 };
    let upstream_us = total_us - 1_500 - 100 * n;
    let ttft_us = (streamed && !failed).then_some(first_token_us);
    let cost = pricing.cost(&usage, upstream_us);

    let mut record = LedgerRecord::new(
        id(ts_ms, n),
        ts_ms,
        if n.is_multiple_of(2) { Api::Anthropic } else { Api::OpenAi },
        if local { "auto" } else { model },
        if failed { Status::Error } else { Status::Ok },
    );
    record.key_id = match n % 3 {
        0 => Some("team-a".into()),
        1 => Some("team-b".into()),
        _ => None,
    };
    record.category = match n % 5 {
        0 | 1 => Some("code".into()),
        2 => Some("chat".into()),
        _ => None,
    };
    record.route = Some(if local { "local-first".into() } else { "cloud".into() });
    record.reasons = vec![format!("rule:{which}")];
    record.provider = Some(provider.into());
    record.upstream_model = Some(model.into());
    record.local = local;
    record.error_kind = failed.then_some("bad_gateway");
    record.usage = usage;
    record.cost_usd = cost;
    record.ttft_us = ttft_us;
    record.total_us = total_us;
    record.upstream_us = Some(upstream_us);
    record.streamed = streamed;
    if n % 6 == 4 {
        record.sensitivity_kinds = vec!["email".into()];
    }
    let attempt = AttemptRecord {
        attempt: 1,
        ts_ms: ts_ms + 1,
        provider: provider.into(),
        upstream_model: model.into(),
        local,
        status: record.status,
        error_kind: record.error_kind,
        usage,
        cost_usd: cost,
        ttft_us: ttft_us.map(|t| t - 1_000),
        total_us: upstream_us,
    };
    (record, vec![attempt])
}

/// Requests in the seeded ledger.
pub const SEEDED: u64 = 36;

/// A record with content, for the content-storage tests.
pub fn with_content(n: u64) -> (LedgerRecord, Vec<AttemptRecord>) {
    let (mut record, attempts) = seeded(n);
    record.content = Some(StoredContent { prompt: "hello".into(), response: "hi there".into() });
    (record, attempts)
}

/// One attempt of an audit-seed request.
fn attempt(n: u32, ts_ms: i64, provider: &str, model: &str, local: bool, ok: bool) -> AttemptRecord {
    AttemptRecord {
        attempt: n,
        ts_ms: ts_ms + i64::from(n),
        provider: provider.into(),
        upstream_model: model.into(),
        local,
        status: if ok { Status::Ok } else { Status::Error },
        error_kind: (!ok).then_some("bad_gateway"),
        usage: Usage::default(),
        cost_usd: Decimal::ZERO,
        ttft_us: None,
        total_us: 1_000,
    }
}

pub const CLAUDE: (&str, &str, bool) = ("claude", "claude-sonnet-4-5", false);
pub const MINI: (&str, &str, bool) = ("openai", "gpt-4o-mini", false);
pub const GEMMA: (&str, &str, bool) = ("local", "gemma-3-270m", true);

/// Requests in the audit seed's window (the seed holds one more, at `UNTIL_MS`: outside it).
pub const AUDIT_SEEDED: u64 = 11;

/// The privacy audit's seed, every case the audit tells apart (request `n` at `BASE_MS + n` minutes):
///
/// | n  | kinds          | action     | attempts (✓ ok, ✗ failed)           | outcome       |
/// |----|----------------|------------|--------------------------------------|---------------|
/// | 0  | –              | –          | claude ✓                             | not sensitive |
/// | 1  | –              | –          | gemma ✓                              | not sensitive |
/// | 2  | email          | redact     | claude ✓                             | cloud         |
/// | 3  | email, phone   | redact     | mini ✓                               | cloud         |
/// | 4  | iban           | local_only | gemma ✓                              | stayed local  |
/// | 5  | email          | allow      | claude ✗, gemma ✓                    | cloud         |
/// | 6  | secret_aws     | block      | –                                    | not sent      |
/// | 7  | iban           | local_only | – (local model down: failed closed)  | not sent      |
/// | 8  | – (an image)   | local_only | gemma ✓                              | stayed local  |
/// | 9  | email, email   | allow      | claude ✗, mini ✓                     | cloud         |
/// | 10 | phone          | allow      | gemma ✓                              | stayed local  |
/// | 11 | email          | redact     | claude ✓ — at `UNTIL_MS`             | outside       |
pub fn audit_seed() -> Vec<(LedgerRecord, Vec<AttemptRecord>)> {
    type Try = ((&'static str, &'static str, bool), bool);
    let cases: [(&[&str], Option<&'static str>, &[Try]); 12] = [
        (&[], None, &[(CLAUDE, true)]),
        (&[], None, &[(GEMMA, true)]),
        (&["email"], Some("redact"), &[(CLAUDE, true)]),
        (&["email", "phone"], Some("redact"), &[(MINI, true)]),
        (&["iban"], Some("local_only"), &[(GEMMA, true)]),
        (&["email"], Some("allow"), &[(CLAUDE, false), (GEMMA, true)]),
        (&["secret_aws"], Some("block"), &[]),
        (&["iban"], Some("local_only"), &[]),
        (&[], Some("local_only"), &[(GEMMA, true)]),
        (&["email", "email"], Some("allow"), &[(CLAUDE, false), (MINI, true)]),
        (&["phone"], Some("allow"), &[(GEMMA, true)]),
        (&["email"], Some("redact"), &[(CLAUDE, true)]),
    ];
    cases
        .iter()
        .enumerate()
        .map(|(n, (kinds, action, tries))| {
            let ts_ms = if n == 11 { UNTIL_MS } else { BASE_MS + n as i64 * 60_000 };
            let ok = tries.last().is_some_and(|(_, ok)| *ok);
            let mut record = LedgerRecord::new(
                id(ts_ms, n as u64),
                ts_ms,
                Api::Anthropic,
                "auto",
                if ok { Status::Ok } else { Status::Error },
            );
            record.sensitivity_kinds = kinds.iter().map(|kind| (*kind).to_owned()).collect();
            record.guard_action = *action;
            if let Some(((provider, model, local), _)) = tries.last() {
                record.provider = Some((*provider).into());
                record.upstream_model = Some((*model).into());
                record.local = *local;
            }
            record.error_kind = match (n, ok) {
                (6, _) => Some("permission"),
                (_, false) => Some("unavailable"),
                _ => None,
            };
            let attempts = tries
                .iter()
                .enumerate()
                .map(|(i, ((provider, model, local), ok))| attempt(i as u32 + 1, ts_ms, provider, model, *local, *ok))
                .collect();
            (record, attempts)
        })
        .collect()
}
