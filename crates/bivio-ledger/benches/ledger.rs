//! Ledger benchmarks: batched inserts through the writer (requests + one attempt each) and `report` / `roi`
//! over the resulting rows. A plain binary (no criterion): each number is one long run, which is what the
//! targets are about (≥ 50 000 inserts/s on SQLite, a report over 1M rows in < 2 s).
//!
//!   cargo bench -p bivio-ledger --bench ledger                  # 1 000 000 rows, SQLite
//!   BIVIO_BENCH_ROWS=200000 cargo bench -p bivio-ledger --bench ledger
//!   BIVIO_BENCH_PG_URL=postgres://… cargo bench -p bivio-ledger --bench ledger   # also Postgres
//!
//! Traffic shape: 30 days, 60 % local, four models, 20 keys, six categories, 5 % errors, 70 % streamed.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use bivio_ledger::config::WriterSettings;
use bivio_ledger::record::{AttemptRecord, LedgerRecord, Status};
use bivio_ledger::{
    Baseline, GroupBy, HardwareCost, Ledger, Price, Pricing, ReportQuery, RoiQuery, Store, WriterStats,
};
use bivio_protocol::Api;
use bivio_protocol::ir::Usage;
use rust_decimal::Decimal;
use uuid::Uuid;

const BASE_MS: i64 = 1_735_689_600_000;
const SPAN_MS: i64 = 30 * 86_400_000;
const KEYS: [&str; 20] = [
    "k00", "k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08", "k09", "k10", "k11", "k12", "k13", "k14", "k15",
    "k16", "k17", "k18", "k19",
];
const CATEGORIES: [&str; 6] = ["code", "chat", "summarise", "extract", "translate", "reason"];

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn sonnet() -> Price {
    Price { input: d("3"), output: d("15"), cache_read: d("0.30"), cache_write: d("3.75") }
}

fn hardware() -> HardwareCost {
    HardwareCost { purchase_usd: d("2000"), lifetime_months: 36, power_w: d("450"), kwh_usd: d("0.30") }
}

struct Gen {
    rows: u64,
    models: [(&'static str, &'static str, bool, Pricing); 4],
}

impl Gen {
    fn new(rows: u64) -> Gen {
        let mini = Price { input: d("0.15"), output: d("0.60"), cache_read: d("0.075"), cache_write: Decimal::ZERO };
        Gen {
            rows,
            models: [
                ("local", "qwen3-coder-30b", true, Pricing::Hardware(hardware())),
                ("local", "gemma-3-12b", true, Pricing::Hardware(hardware())),
                ("claude", "claude-sonnet-4-5", false, Pricing::PerToken(sonnet())),
                ("openai", "gpt-4o-mini", false, Pricing::PerToken(mini)),
            ],
        }
    }

    fn entry(&self, n: u64) -> (LedgerRecord, Vec<AttemptRecord>) {
        let ts_ms = BASE_MS + (i128::from(n) * i128::from(SPAN_MS) / i128::from(self.rows.max(1))) as i64;
        let mix = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40; // a cheap deterministic scramble
        let which = match mix % 10 {
            0..=3 => 0,
            4 | 5 => 1,
            6 | 7 => 2,
            _ => 3,
        };
        let (provider, model, local, pricing) = self.models[which];
        let failed = mix % 20 == 7;
        let usage = Usage {
            input_tokens: 2_000 + mix % 30_000,
            output_tokens: if failed { 0 } else { 100 + mix % 2_000 },
            cache_read_tokens: if local { 0 } else { mix % 50_000 },
            cache_write_tokens: if which == 2 { mix % 3_000 } else { 0 },
            reasoning_tokens: None,
        };
        let ttft_us = 150_000 + mix % 600_000;
        let total_us = ttft_us + usage.output_tokens * 1_000_000 / if local { 45 } else { 80 };
        let upstream_us = total_us - 1_200;
        let cost = pricing.cost(&usage, upstream_us);
        let id = Uuid::from_u64_pair(((ts_ms as u64) << 16) | 0x7000, 0x8000_0000_0000_0000 | n);
        let status = if failed { Status::Error } else { Status::Ok };
        let mut record = LedgerRecord::new(id, ts_ms, Api::Anthropic, if local { "auto" } else { model }, status);
        record.key_id = Some(KEYS[(mix % 20) as usize].to_owned());
        record.category = Some(CATEGORIES[(mix % 6) as usize].to_owned());
        record.route = Some("default".to_owned());
        record.reasons = vec![format!("rule:{which}")];
        record.provider = Some(provider.to_owned());
        record.upstream_model = Some(model.to_owned());
        record.local = local;
        record.error_kind = failed.then_some("timeout");
        record.usage = usage;
        record.cost_usd = cost;
        record.streamed = mix % 10 < 7;
        record.ttft_us = (record.streamed && !failed).then_some(ttft_us);
        record.total_us = total_us;
        record.upstream_us = Some(upstream_us);
        if mix % 50 == 3 {
            record.sensitivity_kinds = vec!["email".to_owned()];
        }
        let attempt = AttemptRecord {
            attempt: 1,
            ts_ms,
            provider: provider.to_owned(),
            upstream_model: model.to_owned(),
            local,
            status,
            error_kind: record.error_kind,
            usage,
            cost_usd: cost,
            ttft_us: record.ttft_us,
            total_us: upstream_us,
        };
        (record, vec![attempt])
    }
}

/// Feeds `rows` requests through a writer as fast as the queue takes them; returns the time until
/// everything is committed.
async fn insert(store: &Store, rows: u64, settings: WriterSettings) -> (Duration, WriterStats) {
    let generator = Gen::new(rows);
    let ledger = Ledger::start(store.clone(), settings);
    let writer = ledger.writer();
    let started = Instant::now();
    for n in 0..rows {
        // The benchmark wants every row stored, so it waits for room instead of letting records drop.
        while writer.queue_depth() + 1 >= settings.queue_capacity {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let (record, attempts) = generator.entry(n);
        writer.record(record, attempts);
    }
    let stats = ledger.shutdown().await;
    assert_eq!((stats.written, stats.dropped, stats.failed), (rows, 0, 0), "{stats:?}");
    (started.elapsed(), stats)
}

fn per_second(rows: u64, elapsed: Duration) -> String {
    format!("{:>9.0}/s", rows as f64 / elapsed.as_secs_f64())
}

async fn queries(store: &Store, rows: u64) {
    let until_ms = BASE_MS + SPAN_MS;
    let baseline = Some(Baseline { model: "claude-sonnet-4-5".into(), price: sonnet() });
    for group_by in [None, Some(GroupBy::Model), Some(GroupBy::Key), Some(GroupBy::Day)] {
        let query = ReportQuery { since_ms: None, until_ms, group_by, baseline: baseline.clone() };
        let started = Instant::now();
        let report = store.report(&query).await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(report.total.requests, rows);
        let by = group_by.map_or("none", GroupBy::label);
        println!(
            "  report --by {by:<8} over {rows} rows: {:>7.0} ms ({} groups)",
            elapsed.as_secs_f64() * 1e3,
            report.rows.len()
        );
    }
    let query = ReportQuery {
        since_ms: Some(until_ms - 7 * 86_400_000),
        until_ms,
        group_by: Some(GroupBy::Model),
        baseline: baseline.clone(),
    };
    let started = Instant::now();
    let report = store.report(&query).await.unwrap();
    println!(
        "  report --since 7d --by model ({} rows): {:>7.0} ms",
        report.total.requests,
        started.elapsed().as_secs_f64() * 1e3
    );
    let roi = RoiQuery {
        since_ms: None,
        until_ms,
        baseline: Baseline { model: "claude-sonnet-4-5".into(), price: sonnet() },
        hardware: hardware(),
    };
    let started = Instant::now();
    let answer = store.roi(&roi).await.unwrap();
    println!(
        "  roi over {rows} rows: {:>7.0} ms (break-even {:?} months)",
        started.elapsed().as_secs_f64() * 1e3,
        answer.break_even_months.map(|m| m.to_string())
    );
}

fn main() {
    let rows: u64 = std::env::var("BIVIO_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        println!("SQLite ({} cores)", std::thread::available_parallelism().map_or(1, |n| n.get()));

        // Batch-size sweep on a fifth of the rows, each into a fresh file.
        let sweep_rows = (rows / 5).max(1);
        for batch_size in [100, 1_000, 10_000] {
            let path = dir.path().join(format!("sweep-{batch_size}.sqlite3"));
            let store = Store::open_sqlite(&path).await.unwrap();
            let settings = WriterSettings { batch_size, ..WriterSettings::default() };
            let (elapsed, _) = insert(&store, sweep_rows, settings).await;
            println!(
                "  insert {sweep_rows} requests (+1 attempt each), batch {batch_size:>6}: {}",
                per_second(sweep_rows, elapsed)
            );
        }

        let path = dir.path().join("ledger.sqlite3");
        let store = Store::open_sqlite(&path).await.unwrap();
        let (elapsed, _) = insert(&store, rows, WriterSettings::default()).await;
        println!(
            "  insert {rows} requests (+1 attempt each), batch {:>6}: {} ({:.1} s)",
            WriterSettings::default().batch_size,
            per_second(rows, elapsed),
            elapsed.as_secs_f64()
        );
        let bytes: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("ledger.sqlite3"))
            .filter_map(|entry| entry.metadata().ok())
            .map(|meta| meta.len())
            .sum();
        println!(
            "  file size: {:.0} MiB ({:.0} bytes per request)",
            bytes as f64 / 1048576.0,
            bytes as f64 / rows as f64
        );
        queries(&store, rows).await;

        if let Ok(url) = std::env::var("BIVIO_BENCH_PG_URL") {
            let pg_rows = (rows / 5).max(1);
            println!("Postgres");
            let schema = format!("bench_{}", Uuid::new_v4().simple());
            let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            admin.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
            let separator = if url.contains('?') { '&' } else { '?' };
            let store =
                Store::open_postgres(&format!("{url}{separator}options=-c%20search_path%3D{schema}")).await.unwrap();
            let (elapsed, _) = insert(&store, pg_rows, WriterSettings::default()).await;
            println!("  insert {pg_rows} requests (+1 attempt each), batch 1000: {}", per_second(pg_rows, elapsed));
            queries(&store, pg_rows).await;
            admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
        }
    });
}
