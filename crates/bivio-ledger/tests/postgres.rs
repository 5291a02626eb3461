//! The Postgres ledger against a real PostgreSQL (`eval "$(bash scripts/postgres.sh)"` sets
//! `BIVIO_TEST_PG_URL`). Each test works in a schema of its own. Without the variable these tests fail in
//! CI (`CI=true`) and are skipped with a notice elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod common;

use std::time::Duration;

use bivio_ledger::config::WriterSettings;
use bivio_ledger::render::render_audit;
use bivio_ledger::{AuditQuery, Format, GroupBy, Ledger, ReportQuery, RoiQuery, SCHEMA_VERSION, Store, audit};
use common::*;
use tokio_postgres::NoTls;

const URL_ENV: &str = "BIVIO_TEST_PG_URL";

fn base_url() -> Option<String> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1") => {
            panic!("{URL_ENV} is not set: CI must run `eval \"$(bash scripts/postgres.sh)\"` first")
        }
        _ => {
            eprintln!("skipping: {URL_ENV} is not set (run `eval \"$(bash scripts/postgres.sh)\"`)");
            None
        }
    }
}

/// A fresh schema; the URL opens connections with it as the search path.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    async fn new(base: &str) -> Schema {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let (client, connection) = tokio_postgres::connect(base, NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(&format!("CREATE SCHEMA {name}")).await.unwrap();
        Schema { base: base.to_owned(), name }
    }

    fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{separator}options=-c%20search_path%3D{}&application_name={}", self.base, self.name, self.name)
    }

    async fn admin(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.base, NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }

    async fn drop(self) {
        let client = self.admin().await;
        client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name)).await.unwrap();
    }
}

async fn seed(store: &Store, settings: WriterSettings) {
    let ledger = Ledger::start(store.clone(), settings);
    let writer = ledger.writer();
    for n in 0..SEEDED {
        let (record, attempts) = if n == 3 { with_content(n) } else { seeded(n) };
        writer.record(record, attempts);
    }
    let stats = ledger.shutdown().await;
    assert_eq!((stats.written, stats.dropped, stats.failed), (SEEDED, 0, 0), "{stats:?}");
}

#[tokio::test]
async fn migrations_match_sqlite_and_run_once() {
    let Some(base) = base_url() else { return };
    let schema = Schema::new(&base).await;
    let pg = Store::open_postgres(&schema.url()).await.unwrap();
    assert_eq!(pg.backend_name(), "postgres");
    assert_eq!(pg.schema_version().await.unwrap(), i64::from(SCHEMA_VERSION));
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open_sqlite(&dir.path().join("l.sqlite3")).await.unwrap();
    // Same tables, same columns, same order.
    assert_eq!(pg.describe().await.unwrap(), sqlite.describe().await.unwrap());
    drop(pg);
    // Replicas starting together: every one opens, each version is applied once.
    let opens = (0..4).map(|_| {
        let url = schema.url();
        async move { Store::open_postgres(&url).await }
    });
    for result in futures::future::join_all(opens).await {
        result.unwrap();
    }
    let admin = schema.admin().await;
    let applied: i64 =
        admin.query_one(&format!("SELECT COUNT(*) FROM {}.ledger_migrations", schema.name), &[]).await.unwrap().get(0);
    assert_eq!(applied, i64::from(SCHEMA_VERSION));
    schema.drop().await;
}

#[tokio::test]
async fn reports_and_roi_equal_sqlite() {
    let Some(base) = base_url() else { return };
    let schema = Schema::new(&base).await;
    let pg = Store::open_postgres(&schema.url()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open_sqlite(&dir.path().join("l.sqlite3")).await.unwrap();
    // Different batching on each side: results must not depend on it.
    seed(&pg, WriterSettings { batch_size: 5, flush_interval: Duration::ZERO, ..WriterSettings::default() }).await;
    seed(&sqlite, WriterSettings::default()).await;
    let counts = pg.counts().await.unwrap();
    assert_eq!((counts.requests, counts.attempts, counts.content), (SEEDED, SEEDED, 1));
    assert_eq!(counts, sqlite.counts().await.unwrap());

    for group_by in [None, Some(GroupBy::Model), Some(GroupBy::Category), Some(GroupBy::Key), Some(GroupBy::Day)] {
        for since_ms in [None, Some(BASE_MS + DAY_MS)] {
            let query = ReportQuery { since_ms, until_ms: UNTIL_MS, group_by, baseline: Some(baseline()) };
            let from_pg = pg.report(&query).await.unwrap();
            assert_eq!(from_pg, sqlite.report(&query).await.unwrap(), "{group_by:?} {since_ms:?}");
            assert!(from_pg.total.requests > 0);
        }
    }
    let query = RoiQuery { since_ms: None, until_ms: UNTIL_MS, baseline: baseline(), hardware: rtx() };
    assert_eq!(pg.roi(&query).await.unwrap(), sqlite.roi(&query).await.unwrap());

    // Exact decimals survive the round trip through NUMERIC.
    let admin = schema.admin().await;
    let row = admin
        .query_one(&format!("SELECT SUM(cost_usd)::TEXT FROM {}.ledger_requests", schema.name), &[])
        .await
        .unwrap();
    let sum: String = row.get(0);
    let expected: rust_decimal::Decimal = (0..SEEDED).map(|n| seeded(n).0.cost_usd).sum();
    assert_eq!(d(&sum), expected);
    schema.drop().await;
}

#[tokio::test]
async fn shutdown_flushes_everything_and_a_broken_connection_is_replaced() {
    let Some(base) = base_url() else { return };
    let schema = Schema::new(&base).await;
    let store = Store::open_postgres(&schema.url()).await.unwrap();
    let settings =
        WriterSettings { queue_capacity: 10_000, batch_size: 250, flush_interval: Duration::from_millis(20) };
    let ledger = Ledger::start(store.clone(), settings);
    let writer = ledger.writer();
    for n in 0..2_000 {
        let (mut record, attempts) = seeded(n % SEEDED);
        record.id = uuid::Uuid::now_v7();
        writer.record(record, attempts);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Kill the ledger's connection from outside; the next batch fails once, reconnects and lands.
    let admin = schema.admin().await;
    let killed = admin
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&schema.name])
        .await
        .unwrap();
    assert_eq!(killed, 1);
    for n in 0..500 {
        let (mut record, attempts) = seeded(n % SEEDED);
        record.id = uuid::Uuid::now_v7();
        writer.record(record, attempts);
    }
    let stats = ledger.shutdown().await;
    assert_eq!((stats.accepted, stats.written, stats.dropped, stats.failed), (2_500, 2_500, 0, 0), "{stats:?}");
    assert_eq!(store.counts().await.unwrap().requests, 2_500);
    schema.drop().await;
}

#[tokio::test]
async fn audit_equals_sqlite() {
    let Some(base) = base_url() else { return };
    let schema = Schema::new(&base).await;
    let pg = Store::open_postgres(&schema.url()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open_sqlite(&dir.path().join("l.sqlite3")).await.unwrap();
    for (store, batch_size) in [(&pg, 3), (&sqlite, 1_000)] {
        let settings = WriterSettings { batch_size, flush_interval: Duration::ZERO, ..WriterSettings::default() };
        let ledger = Ledger::start(store.clone(), settings);
        let writer = ledger.writer();
        for (record, attempts) in audit_seed() {
            writer.record(record, attempts);
        }
        assert_eq!(ledger.shutdown().await.written, AUDIT_SEEDED + 1);
    }
    let windows = [
        (None, UNTIL_MS),
        (None, UNTIL_MS + 1),
        (Some(BASE_MS + 5 * 60_000), UNTIL_MS),
        (Some(BASE_MS + 3 * 60_000), BASE_MS + 4 * 60_000),
        (Some(UNTIL_MS + 1), UNTIL_MS + 2),
    ];
    for (since_ms, until_ms) in windows {
        let query = AuditQuery { since_ms, until_ms };
        let from_pg = audit(&pg, &query).await.unwrap();
        assert_eq!(from_pg, audit(&sqlite, &query).await.unwrap(), "{query:?}");
        if since_ms.is_none() {
            // Not vacuous: the seed's every case is in the whole window (request 11 too when it ends later).
            let eleventh = u64::from(until_ms > UNTIL_MS);
            assert_eq!((from_pg.sensitive.requests, from_pg.cloud_requests_total), (9 + eleventh, 4 + eleventh));
        }
        for format in [Format::Table, Format::Json, Format::Csv] {
            assert_eq!(
                render_audit(&from_pg, format).unwrap(),
                render_audit(&audit(&sqlite, &query).await.unwrap(), format).unwrap()
            );
        }
    }
    schema.drop().await;
}

#[tokio::test]
async fn a_version_1_ledger_migrates_to_version_2_keeping_its_rows() {
    let Some(base) = base_url() else { return };
    let schema = Schema::new(&base).await;
    // What version 1 of bivio created: the bookkeeping table, the init migration, a row it wrote.
    let admin = schema.admin().await;
    let v1 = format!(
        "SET search_path TO {name}; \
         CREATE TABLE ledger_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, \
         applied_at_ms BIGINT NOT NULL); \
         {init} \
         INSERT INTO ledger_migrations (version, name, applied_at_ms) VALUES (1, 'init', 0); \
         INSERT INTO ledger_requests (id, ts_ms, ingress_api, requested_model, provider, upstream_model, local, \
         attempts, status, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, total_us, \
         streamed, sensitivity_kinds) VALUES ('{id}', {ts}, 'anthropic', 'auto', 'claude', 'claude-sonnet-4-5', false, \
         1, 'ok', 10, 5, 0, 0, 0.000105, 1000, false, '[\"email\"]'); \
         INSERT INTO ledger_attempts (request_id, attempt, ts_ms, provider, upstream_model, local, status, \
         input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, total_us) VALUES \
         ('{id}', 1, {ts}, 'claude', 'claude-sonnet-4-5', false, 'ok', 10, 5, 0, 0, 0.000105, 900);",
        name = schema.name,
        init = include_str!("../migrations/postgres/0001_init.sql"),
        id = id(BASE_MS, 1),
        ts = BASE_MS,
    );
    admin.batch_execute(&v1).await.unwrap();

    let pg = Store::open_postgres(&schema.url()).await.unwrap();
    assert_eq!(pg.schema_version().await.unwrap(), 2);
    let counts = pg.counts().await.unwrap();
    assert_eq!((counts.requests, counts.attempts), (1, 1));
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open_sqlite(&dir.path().join("l.sqlite3")).await.unwrap();
    // A migrated database has the same columns, in the same order, as a new one.
    assert_eq!(pg.describe().await.unwrap(), sqlite.describe().await.unwrap());
    let report = audit(&pg, &AuditQuery { since_ms: None, until_ms: UNTIL_MS }).await.unwrap();
    assert_eq!((report.requests, report.sensitive.reached_cloud), (1, 1));
    assert_eq!(report.cloud_requests.first().and_then(|r| r.guard_action.clone()), None);
    assert_eq!(report.by_action.first().map(|row| row.label.as_str()), Some("(none)"));

    // New records store their guard action next to the old one.
    let ledger = Ledger::start(pg.clone(), WriterSettings::default());
    let (record, attempts) = audit_seed().swap_remove(3);
    ledger.writer().record(record, attempts);
    assert_eq!(ledger.shutdown().await.written, 1);
    let actions: Vec<Option<String>> = admin
        .query(&format!("SELECT guard_action FROM {}.ledger_requests ORDER BY ts_ms", schema.name), &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(actions, [None, Some("redact".to_owned())]);
    drop(admin);
    schema.drop().await;
}
