//! The SQLite ledger end to end: migrations, the batched writer, shutdown, content storage, backpressure,
//! and report numbers checked by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use bivio_ledger::config::{LedgerConfig, WriterSettings};
use bivio_ledger::record::{AttemptRecord, LedgerRecord};
use bivio_ledger::render::{audit_conclusion, render_audit};
use bivio_ledger::{
    AUDIT_LIST_LIMIT, AuditQuery, AuditRow, Format, GroupBy, Ledger, LedgerError, ReportQuery, RoiQuery,
    SCHEMA_VERSION, Store, audit,
};
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

/// A fresh SQLite ledger holding `entries`, written through the real writer.
async fn store_with(dir: &tempfile::TempDir, entries: Vec<(LedgerRecord, Vec<AttemptRecord>)>) -> Store {
    let store = Store::open_sqlite(&dir.path().join("audit.sqlite3")).await.unwrap();
    let ledger = Ledger::start(store.clone(), WriterSettings::default());
    let writer = ledger.writer();
    let count = entries.len() as u64;
    for (record, attempts) in entries {
        writer.record(record, attempts);
    }
    let stats = ledger.shutdown().await;
    assert_eq!((stats.written, stats.dropped, stats.failed), (count, 0, 0), "{stats:?}");
    store
}

fn row(label: &str, requests: u64, stayed_local: u64, reached_cloud: u64, not_sent: u64) -> AuditRow {
    AuditRow { label: label.to_owned(), requests, stayed_local, reached_cloud, not_sent }
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

#[tokio::test]
async fn audit_numbers_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&dir, audit_seed()).await;
    let report = audit(&store, &AuditQuery { since_ms: None, until_ms: UNTIL_MS }).await.unwrap();
    // Request 11 sits at UNTIL_MS: the end is exclusive.
    assert_eq!((report.from_ms, report.until_ms), (Some(BASE_MS), UNTIL_MS));
    assert_eq!(report.requests, AUDIT_SEEDED);
    // 2–10 are sensitive; 8 only through its guard action (an image, no kind).
    assert_eq!(report.sensitive, row("total", 9, 3, 4, 2));
    // 9 lists email twice and counts once; 3 counts under email and phone.
    assert_eq!(
        report.by_kind,
        [
            row("email", 4, 0, 4, 0),
            row("iban", 2, 1, 0, 1),
            row("phone", 2, 1, 1, 0),
            row("(none)", 1, 1, 0, 0),
            row("secret_aws", 1, 0, 0, 1),
        ]
    );
    assert_eq!(
        report.by_action,
        [row("allow", 3, 1, 2, 0), row("local_only", 3, 2, 0, 1), row("redact", 2, 0, 2, 0), row("block", 1, 0, 0, 1),]
    );
    // Every upstream a sensitive request was sent to, failed attempts included: 5 counts under claude and
    // gemma, 9 under claude and mini.
    let destinations: Vec<(&str, &str, bool, u64)> = report
        .by_destination
        .iter()
        .map(|d| (d.provider.as_str(), d.upstream_model.as_str(), d.local, d.requests))
        .collect();
    assert_eq!(
        destinations,
        [
            ("local", "gemma-3-270m", true, 4),
            ("claude", "claude-sonnet-4-5", false, 3),
            ("openai", "gpt-4o-mini", false, 2)
        ]
    );
    // The listing: oldest first, the first cloud attempt's upstream, even when a later one answered.
    // id, kinds, guard action, first cloud provider, cloud attempts.
    type Listed<'a> = (String, Vec<String>, Option<&'a str>, &'a str, u64);
    let listed: Vec<Listed<'_>> = report
        .cloud_requests
        .iter()
        .map(|r| (r.id.clone(), r.kinds.clone(), r.guard_action.as_deref(), r.provider.as_str(), r.cloud_attempts))
        .collect();
    let seed = audit_seed();
    let id_of = |n: usize| seed[n].0.id.to_string();
    let kinds = |list: &[&str]| list.iter().map(|kind| (*kind).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        listed,
        [
            (id_of(2), kinds(&["email"]), Some("redact"), "claude", 1),
            (id_of(3), kinds(&["email", "phone"]), Some("redact"), "openai", 1),
            (id_of(5), kinds(&["email"]), Some("allow"), "claude", 1),
            (id_of(9), kinds(&["email"]), Some("allow"), "claude", 2),
        ]
    );
    assert_eq!(report.cloud_requests[3].upstream_model, "claude-sonnet-4-5");
    assert_eq!(report.cloud_requests[1].ts_ms, BASE_MS + 3 * 60_000);
    assert_eq!(report.cloud_requests_total, 4);
    assert_eq!(
        audit_conclusion(&report),
        "4 of 9 sensitive requests reached a cloud provider: 2 under `allow`, 2 under `redact`."
    );

    // From request 5 on, and a window that includes request 11.
    let later =
        audit(&store, &AuditQuery { since_ms: Some(BASE_MS + 5 * 60_000), until_ms: UNTIL_MS + 1 }).await.unwrap();
    assert_eq!(later.from_ms, Some(BASE_MS + 5 * 60_000));
    assert_eq!(later.requests, 7);
    assert_eq!(later.sensitive, row("total", 7, 2, 3, 2));
    let ids: Vec<String> = later.cloud_requests.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, [id_of(5), id_of(9), id_of(11)]);

    // Nothing in the window.
    let empty = audit(&store, &AuditQuery { since_ms: Some(UNTIL_MS + 1), until_ms: UNTIL_MS + 2 }).await.unwrap();
    assert_eq!((empty.requests, empty.sensitive.requests, empty.by_kind.len()), (0, 0, 0));
    assert_eq!(audit_conclusion(&empty), "No sensitive requests in this window, so none reached a cloud provider.");
}

#[tokio::test]
async fn audit_without_cloud_exposure_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let seed: Vec<_> =
        audit_seed().into_iter().enumerate().filter(|(n, _)| [1, 4, 6, 7, 8, 10].contains(n)).map(|(_, e)| e).collect();
    let store = store_with(&dir, seed).await;
    let report = audit(&store, &AuditQuery { since_ms: None, until_ms: UNTIL_MS }).await.unwrap();
    assert_eq!(report.sensitive, row("total", 5, 3, 0, 2));
    assert!(report.cloud_requests.is_empty());
    let table = render_audit(&report, Format::Table).unwrap();
    assert!(table.starts_with("None of the 5 sensitive requests reached a cloud provider.\n"), "{table}");
}

#[tokio::test]
async fn audit_lists_at_most_the_limit_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let extra = 3;
    let total = AUDIT_LIST_LIMIT as u64 + extra;
    // Sensitive cloud requests, one a second; written newest first so the order comes from the query.
    let mut entries: Vec<_> = (0..total)
        .map(|n| {
            let (mut record, attempts) = audit_seed().swap_remove(2);
            record.ts_ms = BASE_MS + n as i64 * 1_000;
            record.id = id(record.ts_ms, n);
            (record, attempts)
        })
        .collect();
    entries.reverse();
    let store = store_with(&dir, entries).await;
    let report = audit(&store, &AuditQuery { since_ms: None, until_ms: UNTIL_MS }).await.unwrap();
    assert_eq!(report.cloud_requests_total, total);
    assert_eq!(report.sensitive.reached_cloud, total);
    assert_eq!(report.cloud_requests.len(), AUDIT_LIST_LIMIT);
    assert_eq!(report.cloud_requests.first().map(|r| r.ts_ms), Some(BASE_MS));
    assert_eq!(report.cloud_requests.last().map(|r| r.ts_ms), Some(BASE_MS + (AUDIT_LIST_LIMIT as i64 - 1) * 1_000));
    let table = render_audit(&report, Format::Table).unwrap();
    assert!(table.contains("the first 1,000 of 1,003:"), "{table}");
    assert!(
        table.starts_with(
            "1,003 of 1,003 sensitive requests reached a cloud provider: 0 under `allow`, 1,003 under `redact`.\n"
        ),
        "{table}"
    );
}

/// What version 1 of bivio created: the bookkeeping table, the init migration, and rows written by it.
const V1_MIGRATIONS_TABLE: &str = "CREATE TABLE ledger_migrations (version BIGINT NOT NULL PRIMARY KEY, \
    name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";

#[tokio::test]
async fn a_version_1_ledger_migrates_to_version_2_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.sqlite3");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(V1_MIGRATIONS_TABLE).unwrap();
    conn.execute_batch(include_str!("../migrations/sqlite/0001_init.sql")).unwrap();
    conn.execute("INSERT INTO ledger_migrations (version, name, applied_at_ms) VALUES (1, 'init', 0)", []).unwrap();
    // A sensitive request sent to the cloud and a plain one, as version 1 wrote them (no guard action).
    let (sensitive_id, plain_id) = (id(BASE_MS, 1).to_string(), id(BASE_MS + 1, 2).to_string());
    for (request_id, ts_ms, kinds) in [(&sensitive_id, BASE_MS, r#"["email"]"#), (&plain_id, BASE_MS + 1, "[]")] {
        conn.execute(
            "INSERT INTO ledger_requests (id, ts_ms, ingress_api, requested_model, provider, upstream_model, local, \
             attempts, status, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, total_us, \
             streamed, sensitivity_kinds) VALUES (?1, ?2, 'anthropic', 'auto', 'claude', 'claude-sonnet-4-5', 0, 1, \
             'ok', 10, 5, 0, 0, '0.000105', 1000, 0, ?3)",
            rusqlite::params![request_id, ts_ms, kinds],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO ledger_attempts (request_id, attempt, ts_ms, provider, upstream_model, local, status, \
             input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, total_us) VALUES \
             (?1, 1, ?2, 'claude', 'claude-sonnet-4-5', 0, 'ok', 10, 5, 0, 0, '0.000105', 900)",
            rusqlite::params![request_id, ts_ms],
        )
        .unwrap();
    }
    drop(conn);

    let store = Store::open_sqlite(&path).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 2);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.requests, counts.attempts), (2, 2));
    let tables = store.describe().await.unwrap();
    let requests = tables.iter().find(|(table, _)| table == "ledger_requests").map(|(_, columns)| columns).unwrap();
    assert_eq!(requests.last().map(String::as_str), Some("guard_action"));
    assert_eq!(requests.len(), 28);
    // The old rows read back: the sensitive one reached the cloud under no recorded decision.
    let report = audit(&store, &AuditQuery { since_ms: None, until_ms: UNTIL_MS }).await.unwrap();
    assert_eq!(report.requests, 2);
    assert_eq!(report.sensitive, row("total", 1, 0, 1, 0));
    assert_eq!(report.by_action, [row("(none)", 1, 0, 1, 0)]);
    assert_eq!(report.cloud_requests.first().map(|r| r.id.as_str()), Some(sensitive_id.as_str()));
    assert_eq!(
        audit_conclusion(&report),
        "1 of 1 sensitive request reached a cloud provider: 0 under `allow`, 0 under `redact`, 1 with no recorded \
         action."
    );
    let old = store
        .report(&ReportQuery { since_ms: None, until_ms: UNTIL_MS, group_by: None, baseline: None })
        .await
        .unwrap();
    assert_eq!((old.total.requests, old.total.input_tokens, old.total.cost_usd), (2, 20, d("0.00021")));

    // New records store their guard action next to the old ones.
    let ledger = Ledger::start(store.clone(), WriterSettings::default());
    let (record, attempts) = audit_seed().swap_remove(3);
    ledger.writer().record(record, attempts);
    assert_eq!(ledger.shutdown().await.written, 1);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let actions: Vec<Option<String>> = conn
        .prepare("SELECT guard_action FROM ledger_requests ORDER BY ts_ms")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(actions, [None, None, Some("redact".to_owned())]);
}
