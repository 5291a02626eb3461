//! Guard throughput on mixed text (English and Italian prose, Rust/Python/JSON code, logs, a few PII values
//! per ~2 KB), and the scan time of a 100 KB prompt. Targets: ≥ 200 MB/s per core, 100 KB in < 0.5 ms.
//!
//!   cargo bench -p bivio-guard --bench guard
//!
//! One thread: criterion runs each iteration on the calling thread, so MB/s is per core.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use bivio_guard::{CustomTerms, GuardConfig, Scanner};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const PROSE_EN: &str = "The quarterly review covered revenue, churn and the new onboarding flow. Most of the \
growth came from the mid-market segment, where the sales cycle shortened from 45 to 31 days. We agreed to \
revisit pricing in March, after the 2.4 release ships, and to keep the support backlog under 120 tickets. ";
const PROSE_IT: &str = "Il verbale della riunione riassume le decisioni prese: la migrazione del database \
avverrà a fine mese, il team di Milano seguirà i test di carico e la documentazione sarà aggiornata entro \
venerdì. Restano aperte tre questioni sulla fatturazione elettronica e sui tempi di consegna. ";
const CODE: &str = r#"fn handle(req: Request) -> Result<Response, Error> {
    let user = db.find_user(req.user_id)?; // see issue #4821
    let total: f64 = req.items.iter().map(|i| i.price * i.qty as f64).sum();
    if total > 1_000.0 { return Err(Error::Limit { max: 1000, got: total as u64 }); }
    log::info!("order ok in {} ms, version 2.14.3", elapsed.as_millis());
    Ok(Response::json(&json!({"status": "ok", "total": total, "ts": "2024-03-15T14:30:00Z"})))
}
def retry(fn, attempts=3, backoff=0.5):
    for i in range(attempts):
        try: return fn()
        except TimeoutError: time.sleep(backoff * 2 ** i)
"#;
const JSON: &str = r#"{"id":"550e8400-e29b-41d4-a716-446655440000","model":"llama-3.1-8b","max_tokens":1024,"messages":[{"role":"user","content":"summarise the attached log"}],"temperature":0.2}
"#;
const LOG: &str = "2024-03-15 14:30:00.123 INFO  worker-3 processed batch 18273 in 412 ms (queue=17, retries=0)\n";
const PII: [&str; 6] = [
    "Please contact mario.rossi@example.com about the invoice. ",
    "Bonifico su IT60X0542811101000000123456 entro venerdì. ",
    "Call +39 347 555 0192 if the courier is late. ",
    "The card 4111 1111 1111 1111 was declined. ",
    "Server 203.0.113.77 rejected the login. ",
    "CF del cliente: RSSMRA85T10A562S. ",
];

/// About `size` bytes of mixed text: ~2 KB blocks of prose, code, JSON and logs, one PII sentence each.
fn mixed_text(size: usize) -> String {
    let mut text = String::with_capacity(size + 4096);
    let mut i = 0;
    while text.len() < size {
        text.push_str(PROSE_EN);
        text.push_str(CODE);
        text.push_str(PROSE_IT);
        text.push_str(JSON);
        text.push_str(LOG);
        text.push_str(LOG);
        text.push_str(PII[i % PII.len()]);
        text.push_str(PROSE_EN);
        i += 1;
    }
    text.truncate(text.floor_char_boundary(size));
    text
}

fn config() -> GuardConfig {
    GuardConfig {
        custom_terms: vec![CustomTerms {
            name: "clients".into(),
            terms: vec!["Acme Corp".into(), "Globex".into(), "Initech".into()],
            action: None,
        }],
        ..GuardConfig::default()
    }
}

fn bench(c: &mut Criterion) {
    let scanner = Scanner::new(&config()).unwrap();
    let mixed = mixed_text(1 << 20);
    let prompt = mixed_text(100 * 1024);
    assert!(!scanner.scan_text(&mixed).is_empty());

    let mut group = c.benchmark_group("guard");
    group.throughput(Throughput::Bytes(mixed.len() as u64));
    group.bench_function("scan_text/mixed_1MiB", |b| b.iter(|| scanner.scan_text(black_box(&mixed))));
    group.throughput(Throughput::Bytes(prompt.len() as u64));
    group.bench_function("scan_text/prompt_100KiB", |b| b.iter(|| scanner.scan_text(black_box(&prompt))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
