//! The request ledger: what every request cost, how fast it was, and where it went.
//!
//! One [`LedgerRecord`] per request and one [`AttemptRecord`] per upstream attempt (linked by the request's
//! id and a 1-based attempt number) are handed to a [`LedgerWriter`], which never blocks and never fails the
//! request: records go into a bounded queue, a background task writes them in batches (one transaction per
//! batch) to SQLite (default: one embedded file, WAL) or Postgres (several replicas, one database). A full
//! queue drops the record and counts it ([`LedgerWriter::dropped`]); [`Ledger::shutdown`] closes the queue
//! and flushes everything still in it.
//!
//! Invariants:
//! - The ledger holds no prompt or answer content unless the record carries [`StoredContent`] — which the
//!   gateway sets only for keys whose config enables it. Error kinds and guard actions are `&'static str`
//!   labels and sensitivity findings are kind names: none can carry request data.
//! - Money is [`rust_decimal::Decimal`] end to end (config → record → storage → report); costs are rounded
//!   to [`cost::COST_SCALE`] decimal places (a pico-dollar), which is exact for any per-token price given
//!   with up to six decimals per million tokens.
//! - Both backends share one logical schema and one list of versioned migrations ([`SCHEMA_VERSION`]).
//! - Reports and ROI are computed by the same Rust code over rows fetched from either backend, so both give
//!   identical numbers; rendering (table, JSON, CSV) is a pure function of the report structs.
//!
//! Privacy audit ([`audit()`]): for a time window, which requests held sensitive data (by the kinds the
//! guard found and the decision it recorded, `guard_action`, stored since schema version 2), and whether
//! each one stayed local, reached a cloud provider (any attempt to a non-local upstream counts, failed ones
//! included: the upstream received the request) or was never sent — per kind, per guard action and per
//! destination, with the cloud-bound ones listed by id. It reads labels and counts only, never content, and
//! runs one SQL on both backends so they agree. [`render::render_audit`] states the conclusion first.

pub mod audit;
pub mod config;
pub mod cost;
mod error;
mod migrations;
pub mod record;
pub mod render;
pub mod report;
pub mod roi;
mod store;
pub mod time;
mod writer;

pub use audit::{AUDIT_LIST_LIMIT, AuditDestination, AuditQuery, AuditReport, AuditRow, CloudRequest, audit};
pub use config::{Backend, ConfigError, LedgerConfig, LedgerSettings, StoreSettings, WriterSettings};
pub use cost::{HardwareCost, Price, Pricing};
pub use error::LedgerError;
pub use migrations::SCHEMA_VERSION;
pub use record::{AttemptRecord, LedgerRecord, Status, StoredContent};
pub use render::Format;
pub use report::{Baseline, GroupBy, Report, ReportQuery, ReportRow};
pub use roi::{RoiQuery, RoiReport};
pub use store::{Counts, Store};
pub use writer::{Ledger, LedgerWriter, SALVAGE_GIVE_UP, WRITE_TRIES, WriterStats};
