//! The Postgres ledger against a real PostgreSQL (`eval "$(bash scripts/postgres.sh)"` sets
//! `BIVIO_TEST_PG_URL`). Each test works in a schema of its own. Without the variable these tests fail in
//! CI (`CI=true`) and are skipped with a notice elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod common;

use std::time::Duration;

use bivio_ledger::config::WriterSettings;
use bivio_ledger::{GroupBy, Ledger, ReportQuery, RoiQuery, SCHEMA_VERSION, Store};
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
