//! Storage: one closed set of backends behind [`Store`]. An enum rather than a trait object because the
//! set is closed (SQLite, Postgres) and the methods are async — no boxing, no `async-trait`.
//!
//! Every backend offers the same operations: migrate on open, write a batch in one transaction, scan the
//! rows of a time window as [`Fact`]s (the report's and ROI's only input) or as [`AuditFact`]s (the privacy
//! audit's), so both backends give identical numbers, and small introspection for tests and operators.

mod postgres;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use bivio_protocol::ir::Usage;
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

use crate::config::StoreSettings;
use crate::error::LedgerError;
use crate::record::Entry;
use crate::report::GroupBy;

/// An open, migrated ledger database. Cheap to clone (shared connection).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Arc<sqlite::SqliteStore>),
    Postgres(Arc<postgres::PgStore>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the Postgres URL: it holds a password.
        f.write_str(match self.backend {
            Backend::Sqlite(_) => "Store(sqlite)",
            Backend::Postgres(_) => "Store(postgres)",
        })
    }
}

/// Rows stored, by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub attempts: u64,
    pub content: u64,
}

/// Which rows a scan visits and how it labels them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scan {
    /// Inclusive lower bound on `ts_ms`, if any.
    pub since_ms: Option<i64>,
    /// Exclusive upper bound on `ts_ms`.
    pub until_ms: i64,
    pub group_by: Option<GroupBy>,
}

/// The columns of one request that reports need. `group` is the grouping column's value (`None` for day
/// grouping, which is derived from `ts_ms`, and for rows where the column is empty).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fact<'a> {
    pub ts_ms: i64,
    pub group: Option<&'a str>,
    pub local: bool,
    pub ok: bool,
    pub usage: Usage,
    pub cost_usd: Decimal,
    pub total_us: u64,
    pub ttft_us: Option<u64>,
    pub upstream_us: Option<u64>,
}

/// Something that folds the facts of a scan (it moves to the SQLite thread and back, hence `Send + 'static`).
pub(crate) trait Visit: Send + 'static {
    fn visit(&mut self, fact: Fact<'_>);
}

/// The privacy audit's rows: one per (request, attempt) of a sensitive request, one per request otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditScan {
    /// Inclusive lower bound on `ts_ms`, if any.
    pub since_ms: Option<i64>,
    /// Exclusive upper bound on `ts_ms`.
    pub until_ms: i64,
}

/// One row of an [`AuditScan`]: a request's privacy columns and, for sensitive requests, one of its attempts
/// (`None`: the request has no attempt, or is not sensitive and its attempts were not joined).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditFact<'a> {
    /// Canonical hyphenated UUID.
    pub id: &'a str,
    pub ts_ms: i64,
    pub sensitive: bool,
    /// JSON array of kind names.
    pub kinds: &'a str,
    pub guard_action: Option<&'a str>,
    pub attempt: Option<AttemptDestination<'a>>,
}

/// Where one attempt sent the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptDestination<'a> {
    pub provider: &'a str,
    pub upstream_model: &'a str,
    pub local: bool,
}

/// Folds an audit scan; a row that cannot be decoded fails the audit rather than being skipped (an audit
/// that silently leaves rows out would claim more than it checked).
pub(crate) trait VisitAudit: Send + 'static {
    fn visit(&mut self, fact: AuditFact<'_>) -> Result<(), LedgerError>;
}

/// What makes a request sensitive: the guard found kinds, or decided something without naming a kind (it
/// does so for images, which `local_only` or `block` without adding a kind).
const SENSITIVE: &str = "(r.sensitivity_kinds <> '[]' OR r.guard_action IS NOT NULL)";

impl AuditScan {
    /// The SELECT both backends run. Attempts are joined for sensitive requests only, so the rows of the
    /// (usually many) other requests stay one each. Ordered so each request's rows are adjacent (the fold
    /// streams) and the listing comes out in time order on both backends: `id` orders identically as a
    /// Postgres UUID and as SQLite's lowercase hyphenated text, both bytewise.
    fn sql(&self, placeholder_since: &str, placeholder_until: &str) -> String {
        format!(
            "SELECT CAST(r.id AS TEXT), r.ts_ms, {SENSITIVE}, r.sensitivity_kinds, r.guard_action, a.provider, \
             a.upstream_model, a.local FROM ledger_requests r \
             LEFT JOIN ledger_attempts a ON a.request_id = r.id AND {SENSITIVE} \
             WHERE r.ts_ms >= {placeholder_since} AND r.ts_ms < {placeholder_until} \
             ORDER BY r.ts_ms, r.id, a.attempt"
        )
    }

    fn since(&self) -> i64 {
        self.since_ms.unwrap_or(i64::MIN)
    }
}

impl Scan {
    /// The SELECT both backends run (same SQL: `||` and `CAST` mean the same in both).
    fn sql(&self, placeholder_since: &str, placeholder_until: &str) -> String {
        let group = match self.group_by {
            Some(GroupBy::Model) => "provider || '/' || upstream_model",
            Some(GroupBy::Category) => "category",
            Some(GroupBy::Key) => "key_id",
            Some(GroupBy::Day) | None => "CAST(NULL AS TEXT)",
        };
        format!(
            "SELECT ts_ms, {group}, local, status = 'ok', input_tokens, output_tokens, cache_read_tokens, \
             cache_write_tokens, cost_usd, total_us, ttft_us, upstream_us FROM ledger_requests \
             WHERE ts_ms >= {placeholder_since} AND ts_ms < {placeholder_until}"
        )
    }

    fn since(&self) -> i64 {
        self.since_ms.unwrap_or(i64::MIN)
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the configured database.
    pub async fn open(settings: &StoreSettings) -> Result<Store, LedgerError> {
        match settings {
            StoreSettings::Sqlite { path } => Store::open_sqlite(path).await,
            StoreSettings::Postgres { url } => Store::open_postgres(url.expose_secret()).await,
        }
    }

    /// Opens (creating the file and its directory if needed) and migrates a SQLite ledger.
    pub async fn open_sqlite(path: &Path) -> Result<Store, LedgerError> {
        let path = path.to_owned();
        let store = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&path))
            .await
            .map_err(|err| LedgerError::Thread(err.to_string()))??;
        Ok(Store { backend: Backend::Sqlite(Arc::new(store)) })
    }

    /// Connects to and migrates a Postgres ledger. `url` is a `postgres://` URL (libpq key=value strings
    /// work too).
    pub async fn open_postgres(url: &str) -> Result<Store, LedgerError> {
        let store = postgres::PgStore::open(url).await?;
        Ok(Store { backend: Backend::Postgres(Arc::new(store)) })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The highest migration applied.
    pub async fn schema_version(&self) -> Result<i64, LedgerError> {
        match &self.backend {
            Backend::Sqlite(store) => store.schema_version().await,
            Backend::Postgres(store) => store.schema_version().await,
        }
    }

    /// Rows stored, by table.
    pub async fn counts(&self) -> Result<Counts, LedgerError> {
        match &self.backend {
            Backend::Sqlite(store) => store.counts().await,
            Backend::Postgres(store) => store.counts().await,
        }
    }

    /// The ledger's tables and their columns in order — for checking that both backends' migrations agree.
    #[doc(hidden)]
    pub async fn describe(&self) -> Result<Vec<(String, Vec<String>)>, LedgerError> {
        match &self.backend {
            Backend::Sqlite(store) => store.describe().await,
            Backend::Postgres(store) => store.describe().await,
        }
    }

    /// The earliest request's timestamp, if any.
    pub async fn first_ts_ms(&self) -> Result<Option<i64>, LedgerError> {
        match &self.backend {
            Backend::Sqlite(store) => store.first_ts_ms().await,
            Backend::Postgres(store) => store.first_ts_ms().await,
        }
    }

    /// Writes requests, their attempts and content in one transaction: all or nothing.
    pub(crate) async fn write(&self, batch: Arc<[Entry]>) -> Result<(), LedgerError> {
        match &self.backend {
            Backend::Sqlite(store) => store.write(batch).await,
            Backend::Postgres(store) => store.write(&batch).await,
        }
    }

    /// Shows `visitor` every request in the scan's window (in no particular order) and returns it.
    pub(crate) async fn scan<V: Visit>(&self, scan: Scan, visitor: V) -> Result<V, LedgerError> {
        match &self.backend {
            Backend::Sqlite(store) => store.scan(scan, visitor).await,
            Backend::Postgres(store) => store.scan(scan, visitor).await,
        }
    }

    /// Shows `visitor` the audit rows of the window, in order (see [`AuditScan::sql`]), and returns it.
    pub(crate) async fn audit_scan<V: VisitAudit>(&self, scan: AuditScan, visitor: V) -> Result<V, LedgerError> {
        match &self.backend {
            Backend::Sqlite(store) => store.audit_scan(scan, visitor).await,
            Backend::Postgres(store) => store.audit_scan(scan, visitor).await,
        }
    }
}

/// A JSON array of strings; `[]` for none (the common case, without allocating a serializer).
pub(crate) fn json_list(items: &[String]) -> String {
    if items.is_empty() {
        return "[]".to_owned();
    }
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}
