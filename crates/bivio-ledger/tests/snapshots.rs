//! What people and programs see: `bivio report` and `bivio roi` over the seeded ledger, in every format.
//! The seed and the window are fixed, so the output is too (`cargo insta review` after a deliberate change).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bivio_ledger::config::WriterSettings;
use bivio_ledger::render::{render_audit, render_report, render_roi};
use bivio_ledger::{AuditQuery, Format, GroupBy, HardwareCost, Ledger, ReportQuery, RoiQuery, Store, audit};
use common::*;

async fn seeded_store(dir: &tempfile::TempDir) -> Store {
    let store = Store::open_sqlite(&dir.path().join("ledger.sqlite3")).await.unwrap();
    let ledger = Ledger::start(store.clone(), WriterSettings::default());
    let writer = ledger.writer();
    for n in 0..SEEDED {
        let (record, attempts) = seeded(n);
        writer.record(record, attempts);
    }
    assert_eq!(ledger.shutdown().await.written, SEEDED);
    store
}

/// A SQLite ledger holding the audit seed's requests numbered in `keep`.
async fn audit_store(dir: &tempfile::TempDir, keep: &[usize]) -> Store {
    let store = Store::open_sqlite(&dir.path().join("audit.sqlite3")).await.unwrap();
    let ledger = Ledger::start(store.clone(), WriterSettings::default());
    let writer = ledger.writer();
    for (n, (record, attempts)) in audit_seed().into_iter().enumerate() {
        if keep.contains(&n) {
            writer.record(record, attempts);
        }
    }
    assert_eq!(ledger.shutdown().await.written, keep.len() as u64);
    store
}

fn query(group_by: Option<GroupBy>) -> ReportQuery {
    ReportQuery { since_ms: None, until_ms: UNTIL_MS, group_by, baseline: Some(baseline()) }
}

#[tokio::test]
async fn report_by_model() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(&dir).await;
    let report = store.report(&query(Some(GroupBy::Model))).await.unwrap();
    insta::assert_snapshot!("report_by_model_table", render_report(&report, Format::Table).unwrap());
    insta::assert_snapshot!("report_by_model_json", render_report(&report, Format::Json).unwrap());
    insta::assert_snapshot!("report_by_model_csv", render_report(&report, Format::Csv).unwrap());
}

#[tokio::test]
async fn report_other_groupings() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(&dir).await;
    let by_day = store.report(&query(Some(GroupBy::Day))).await.unwrap();
    insta::assert_snapshot!("report_by_day_table", render_report(&by_day, Format::Table).unwrap());
    let by_category = store.report(&query(Some(GroupBy::Category))).await.unwrap();
    insta::assert_snapshot!("report_by_category_table", render_report(&by_category, Format::Table).unwrap());
    let by_key = store.report(&query(Some(GroupBy::Key))).await.unwrap();
    insta::assert_snapshot!("report_by_key_csv", render_report(&by_key, Format::Csv).unwrap());
    // Ungrouped, last day only, without a baseline.
    let last_day =
        ReportQuery { since_ms: Some(UNTIL_MS - DAY_MS), until_ms: UNTIL_MS, group_by: None, baseline: None };
    let report = store.report(&last_day).await.unwrap();
    insta::assert_snapshot!("report_total_table", render_report(&report, Format::Table).unwrap());
    insta::assert_snapshot!("report_total_csv", render_report(&report, Format::Csv).unwrap());
}

#[tokio::test]
async fn report_on_an_empty_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("empty.sqlite3")).await.unwrap();
    let report = store.report(&query(Some(GroupBy::Model))).await.unwrap();
    insta::assert_snapshot!("report_empty_table", render_report(&report, Format::Table).unwrap());
}

#[tokio::test]
async fn roi() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(&dir).await;
    let roi_for =
        |hardware: HardwareCost| RoiQuery { since_ms: None, until_ms: UNTIL_MS, baseline: baseline(), hardware };

    // An RTX 4090 at $2,000: the seeded traffic does not pay for it within 36 months.
    let rtx_roi = store.roi(&roi_for(rtx())).await.unwrap();
    insta::assert_snapshot!("roi_rtx_table", render_roi(&rtx_roi, Format::Table).unwrap());
    insta::assert_snapshot!("roi_rtx_json", render_roi(&rtx_roi, Format::Json).unwrap());
    insta::assert_snapshot!("roi_rtx_csv", render_roi(&rtx_roi, Format::Csv).unwrap());

    // A $300 second-hand card pays off.
    let cheap = HardwareCost { purchase_usd: d("300"), ..rtx() };
    let cheap = store.roi(&roi_for(cheap)).await.unwrap();
    assert!(cheap.pays_off_within_lifetime);
    insta::assert_snapshot!("roi_cheap_table", render_roi(&cheap, Format::Table).unwrap());

    // Electricity at $200/kWh: running cost exceeds what it avoids — never.
    let dear = HardwareCost { kwh_usd: d("200"), ..rtx() };
    let dear = store.roi(&roi_for(dear)).await.unwrap();
    assert_eq!(dear.break_even_months, None);
    insta::assert_snapshot!("roi_never_table", render_roi(&dear, Format::Table).unwrap());
}

#[tokio::test]
async fn audit_with_cloud_exposure() {
    let dir = tempfile::tempdir().unwrap();
    let store = audit_store(&dir, &(0..12).collect::<Vec<_>>()).await;
    let report = audit(&store, &AuditQuery { since_ms: None, until_ms: UNTIL_MS }).await.unwrap();
    insta::assert_snapshot!("audit_table", render_audit(&report, Format::Table).unwrap());
    insta::assert_snapshot!("audit_json", render_audit(&report, Format::Json).unwrap());
    insta::assert_snapshot!("audit_csv", render_audit(&report, Format::Csv).unwrap());
}

#[tokio::test]
async fn audit_without_cloud_exposure() {
    let dir = tempfile::tempdir().unwrap();
    let store = audit_store(&dir, &[1, 4, 6, 7, 8, 10]).await;
    let report = audit(&store, &AuditQuery { since_ms: None, until_ms: UNTIL_MS }).await.unwrap();
    insta::assert_snapshot!("audit_local_table", render_audit(&report, Format::Table).unwrap());
    let empty = audit(&store, &AuditQuery { since_ms: Some(UNTIL_MS), until_ms: UNTIL_MS + DAY_MS }).await.unwrap();
    insta::assert_snapshot!("audit_empty_table", render_audit(&empty, Format::Table).unwrap());
}
