//! The SQLite ledger end to end: migrations, the batched writer, shutdown, content storage, backpressure,
//! and report numbers checked by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use bivio_ledger::config::{LedgerConfig, WriterSettings};
use bivio_ledger::{GroupBy, Ledger, LedgerError, ReportQuery, RoiQuery, SCHEMA_VERSION, Store};
use common::*;
use rust_decimal::Decimal;

async fn seeded_store(dir: &tempfile::TempDir) -> Store {
    let store = Store::open_sqlite(&dir.path().join("ledger.sqlite3")).await.unwrap();
    let ledger = Ledger::start(store.clone(), WriterSettings::default());
    let writer = ledger.writer();
    for n in 0..SEEDED {
        let (record, attempts) = seeded(n);
        writer.record(record, attempts);
    }
    let stats = ledger.shutdown().await;
    assert_eq!((stats.accepted, stats.written, stats.dropped, stats.failed), (SEEDED, SEEDED, 0, 0));
    store
}

#[tokio::test]
async fn opening_creates_the_file_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/ledger.sqlite3");
    let store = Store::open_sqlite(&path).await.unwrap();
    assert!(path.exists());
    assert_eq!(store.schema_version().await.unwrap(), i64::from(SCHEMA_VERSION));
    drop(store);
    // Reopening applies nothing twice.
    let store = Store::open_sqlite(&path).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), i64::from(SCHEMA_VERSION));
    let tables: Vec<String> = store.describe().await.unwrap().into_iter().map(|(table, _)| table).collect();
    assert_eq!(tables, ["ledger_attempts", "ledger_content", "ledger_migrations", "ledger_requests"]);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    drop(Store::open_sqlite(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("INSERT INTO ledger_migrations (version, name, applied_at_ms) VALUES (99, 'future', 0)", []).unwrap();
    drop(conn);
    let err = Store::open_sqlite(&path).await.unwrap_err();
    assert!(matches!(err, LedgerError::SchemaTooNew { found: 99, .. }), "{err}");
}

#[tokio::test]
async fn the_writer_stores_requests_attempts_and_only_enabled_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("l.sqlite3")).await.unwrap();
    let ledger = Ledger::start(store.clone(), WriterSettings::default());
    let writer = ledger.writer();
    let (record, attempts) = with_content(0);
    writer.record(record, attempts);
    for n in 1..10 {
        let (record, attempts) = seeded(n);
        writer.record(record, attempts);
    }
    ledger.shutdown().await;
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.requests, counts.attempts, counts.content), (10, 10, 1));

    let conn = rusqlite::Connection::open(dir.path().join("l.sqlite3")).unwrap();
    let (id, cost, overhead, kinds, reasons, error_kind): (String, String, i64, String, String, Option<String>) = conn
        .query_row(
            "SELECT id, cost_usd, overhead_us, sensitivity_kinds, reasons, error_kind FROM ledger_requests \
             WHERE sensitivity_kinds != '[]' ORDER BY id LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)),
        )
        .unwrap();
    let (expected, _) = seeded(4);
    assert_eq!(id, expected.id.to_string());
    assert_eq!(cost, expected.cost_usd.to_string());
    assert_eq!(overhead, 1_500 + 400);
    assert_eq!(kinds, r#"["email"]"#);
    assert_eq!(reasons, r#"["rule:0"]"#);
    assert_eq!(error_kind, None);
    let (prompt, response): (String, String) = conn
        .query_row("SELECT prompt, response FROM ledger_content", [], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap();
    assert_eq!((prompt.as_str(), response.as_str()), ("hello", "hi there"));
    let (request_id, attempt): (String, i64) = conn
        .query_row("SELECT request_id, attempt FROM ledger_attempts ORDER BY request_id LIMIT 1", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!((request_id, attempt), (seeded(0).0.id.to_string(), 1));
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("l.sqlite3")).await.unwrap();
    // A long linger keeps the writer from draining while the queue is filled.
    let settings = WriterSettings { queue_capacity: 8, batch_size: 1_000, flush_interval: Duration::from_secs(30) };
    let ledger = Ledger::start(store.clone(), settings);
    let writer = ledger.writer();
    let started = Instant::now();
    for n in 0..200 {
        let (record, attempts) = seeded(n % SEEDED);
        let mut record = record;
        record.id = uuid::Uuid::now_v7();
        writer.record(record, attempts);
    }
    assert!(started.elapsed() < Duration::from_secs(1), "record() must never wait");
    // The test runtime is single-threaded and the loop never yields, so the writer cannot drain: exactly
    // the queue's capacity is accepted.
    let stats = writer.stats();
    assert_eq!((stats.accepted, stats.dropped, stats.queue_depth), (8, 192, 8), "{stats:?}");
    assert_eq!(writer.dropped(), 192);
    // Shutdown flushes without waiting out the linger, and later records are dropped.
    let started = Instant::now();
    let final_stats = ledger.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(final_stats.written, stats.accepted);
    assert_eq!(store.counts().await.unwrap().requests, stats.accepted);
    let (record, attempts) = seeded(0);
    writer.record(record, attempts);
    assert_eq!(writer.dropped(), stats.dropped + 1);
    assert_eq!(writer.queue_depth(), 0);
}

#[tokio::test]
async fn a_failing_batch_is_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("l.sqlite3")).await.unwrap();
    let ledger =
        Ledger::start(store.clone(), WriterSettings { flush_interval: Duration::ZERO, ..WriterSettings::default() });
    let writer = ledger.writer();
    let (record, attempts) = seeded(1);
    writer.record(record.clone(), attempts.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The same id again violates the primary key: that batch fails every try and is counted.
    writer.record(record, attempts);
    let (record, attempts) = seeded(2);
    let stats = {
        tokio::time::sleep(Duration::from_millis(100)).await;
        writer.record(record, attempts);
        ledger.shutdown().await
    };
    assert_eq!(stats.failed, 1, "{stats:?}");
    assert_eq!(stats.written, 2, "{stats:?}");
}

#[tokio::test]
async fn one_bad_record_does_not_lose_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("l.sqlite3")).await.unwrap();
    let (first, attempts) = seeded(0);
    let ledger = Ledger::start(store.clone(), WriterSettings::default());
    ledger.writer().record(first.clone(), attempts.clone());
    ledger.shutdown().await;
    // A batch of ten where the fourth repeats an id already stored: the other nine are written.
    let ledger = Ledger::start(
        store.clone(),
        WriterSettings { flush_interval: Duration::from_secs(30), ..WriterSettings::default() },
    );
    let writer = ledger.writer();
    for n in 1..10 {
        if n == 4 {
            writer.record(first.clone(), attempts.clone());
        }
        let (record, attempts) = seeded(n);
        writer.record(record, attempts);
    }
    let stats = ledger.shutdown().await;
    assert_eq!((stats.written, stats.failed), (9, 1), "{stats:?}");
    assert_eq!(store.counts().await.unwrap().requests, 10);
}

#[tokio::test]
async fn report_numbers_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(&dir).await;
    // Only day one (requests 0–11), grouped by key.
    let query = ReportQuery {
        since_ms: Some(BASE_MS),
        until_ms: BASE_MS + DAY_MS,
        group_by: Some(GroupBy::Key),
        baseline: Some(baseline()),
    };
    let report = store.report(&query).await.unwrap();
    assert_eq!(report.total.requests, 12);
    // Request 5 failed (n % 11 == 5).
    assert_eq!(report.total.errors, 1);
    let expected_cost: Decimal = (0..12).map(|n| seeded(n).0.cost_usd).sum();
    assert_eq!(report.total.cost_usd, expected_cost);
    let expected_output: u64 = (0..12).map(|n| seeded(n).0.usage.output_tokens).sum();
    assert_eq!(report.total.output_tokens, expected_output);
    // Local: n % 4 ∈ {0, 1} → 6 of 12.
    assert_eq!(report.total.local_requests, 6);
    assert_eq!(report.total.local_share, 0.5);
    let savings: Decimal = (0..12)
        .map(|n| seeded(n).0)
        .filter(|record| record.local)
        .map(|record| sonnet().cost(&record.usage) - record.cost_usd)
        .sum();
    assert_eq!(report.total.savings_usd, Some(savings));
    // Keys: n % 3 → team-a, team-b, none; 4 requests each.
    let groups: Vec<(&str, u64)> = report.rows.iter().map(|row| (row.group.as_str(), row.requests)).collect();
    assert_eq!(groups.len(), 3);
    assert!(groups.iter().all(|(_, requests)| *requests == 4), "{groups:?}");
    // Latency percentiles over the 11 successful requests, nearest rank: p50 = 6th, p95 = 11th smallest.
    let mut latencies: Vec<u64> =
        (0..12).map(|n| seeded(n).0).filter(|r| r.error_kind.is_none()).map(|r| r.total_us).collect();
    latencies.sort_unstable();
    assert_eq!(report.total.latency_p50_ms, Some(latencies[5] as f64 / 1000.0));
    assert_eq!(report.total.latency_p95_ms, Some(latencies[10] as f64 / 1000.0));
}

#[tokio::test]
async fn roi_uses_the_window_since_the_first_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(&dir).await;
    let query =
        RoiQuery { since_ms: Some(BASE_MS - 30 * DAY_MS), until_ms: UNTIL_MS, baseline: baseline(), hardware: rtx() };
    let roi = store.roi(&query).await.unwrap();
    // The ledger starts at BASE_MS, so the window is 3 days, not 33.
    assert_eq!(roi.from_ms, Some(BASE_MS));
    assert_eq!(roi.window_days, Decimal::from(3));
    assert_eq!(roi.requests, SEEDED);
    assert_eq!(roi.local_requests, SEEDED / 2);
}

#[test]
fn the_documented_config_example_parses() {
    let config: LedgerConfig = toml::from_str(
        r#"
        backend = "sqlite"
        path = "/var/lib/bivio/ledger.sqlite3"
        queue_capacity = 10000
        batch_size = 1000
        flush_interval_ms = 200
        baseline_model = "claude-sonnet-4-5"
        [hardware]
        purchase_usd = 2000
        lifetime_months = 36
        power_w = 450
        kwh_usd = 0.30
        "#,
    )
    .unwrap();
    config.resolve(None, &|_| None).unwrap();
}
