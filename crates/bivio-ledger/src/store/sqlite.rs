//! SQLite backend: one file in WAL mode (readers never block the writer; `bivio report` can run while the
//! gateway writes), `synchronous = NORMAL` (a commit survives a process crash; a power cut may lose the
//! last batches, never corrupt the file). One connection behind a mutex; every call runs on a blocking
//! thread so the async runtime never waits on disk.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bivio_protocol::ir::Usage;
use rusqlite::{Connection, TransactionBehavior, params};
use rust_decimal::Decimal;

use super::{AttemptDestination, AuditFact, AuditScan, Counts, Fact, Scan, Visit, VisitAudit, json_list};
use crate::error::LedgerError;
use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATIONS, pending};
use crate::record::{Entry, to_i64, to_u64};

pub(crate) struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

const INSERT_REQUEST: &str = "INSERT INTO ledger_requests (id, ts_ms, key_id, ingress_api, requested_model, \
    category, route, reasons, provider, upstream_model, local, attempts, status, error_kind, input_tokens, \
    output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, ttft_us, total_us, \
    upstream_us, overhead_us, output_tps, streamed, sensitivity_kinds, guard_action) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
    ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)";

const INSERT_ATTEMPT: &str = "INSERT INTO ledger_attempts (request_id, attempt, ts_ms, provider, upstream_model, \
    local, status, error_kind, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, \
    reasoning_tokens, cost_usd, ttft_us, total_us, output_tps) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
    ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

const INSERT_CONTENT: &str = "INSERT INTO ledger_content (request_id, prompt, response) VALUES (?1, ?2, ?3)";

impl SqliteStore {
    pub(crate) fn open(path: &Path) -> Result<SqliteStore, LedgerError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| LedgerError::CreateDir { path: dir.display().to_string(), source })?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let _mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut conn)?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `work` with the connection on a blocking thread.
    async fn blocking<T, W>(&self, work: W) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        W: FnOnce(&mut Connection) -> Result<T, LedgerError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn =
                conn.lock().map_err(|_| LedgerError::Thread("the SQLite connection's lock is poisoned".into()))?;
            work(&mut conn)
        })
        .await
        .map_err(|err| LedgerError::Thread(err.to_string()))?
    }

    pub(crate) async fn schema_version(&self) -> Result<i64, LedgerError> {
        self.blocking(|conn| current_version(conn)).await
    }

    pub(crate) async fn counts(&self) -> Result<Counts, LedgerError> {
        self.blocking(|conn| {
            let count = |table: &str| -> Result<u64, LedgerError> {
                let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0))?;
                Ok(to_u64(n))
            };
            Ok(Counts {
                requests: count("ledger_requests")?,
                attempts: count("ledger_attempts")?,
                content: count("ledger_content")?,
            })
        })
        .await
    }

    pub(crate) async fn describe(&self) -> Result<Vec<(String, Vec<String>)>, LedgerError> {
        self.blocking(|conn| {
            let mut tables: Vec<String> = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ledger_%' ORDER BY name")?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            tables.sort();
            let mut out = Vec::new();
            for table in tables {
                let columns: Vec<String> = conn
                    .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
                    .query_map([&table], |row| row.get(0))?
                    .collect::<Result<_, _>>()?;
                out.push((table, columns));
            }
            Ok(out)
        })
        .await
    }

    pub(crate) async fn first_ts_ms(&self) -> Result<Option<i64>, LedgerError> {
        self.blocking(|conn| Ok(conn.query_row("SELECT MIN(ts_ms) FROM ledger_requests", [], |row| row.get(0))?)).await
    }

    pub(crate) async fn write(&self, batch: Arc<[Entry]>) -> Result<(), LedgerError> {
        self.blocking(move |conn| write(conn, &batch)).await
    }

    pub(crate) async fn scan<V: Visit>(&self, scan: Scan, visitor: V) -> Result<V, LedgerError> {
        self.blocking(move |conn| scan_rows(conn, &scan, visitor)).await
    }

    pub(crate) async fn audit_scan<V: VisitAudit>(&self, scan: AuditScan, visitor: V) -> Result<V, LedgerError> {
        self.blocking(move |conn| audit_rows(conn, &scan, visitor)).await
    }
}

fn current_version(conn: &Connection) -> Result<i64, LedgerError> {
    Ok(conn.query_row("SELECT COALESCE(MAX(version), 0) FROM ledger_migrations", [], |row| row.get(0))?)
}

/// Applies pending migrations in one IMMEDIATE transaction (a second process opening the same file waits
/// on the write lock instead of racing).
fn migrate(conn: &mut Connection) -> Result<(), LedgerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(CREATE_MIGRATIONS_TABLE)?;
    let current = current_version(&tx)?;
    let supported = MIGRATIONS.last().map_or(0, |migration| migration.version);
    if current > i64::from(supported) {
        return Err(LedgerError::SchemaTooNew { found: current, supported });
    }
    for migration in pending(current) {
        tx.execute_batch(migration.sqlite)?;
        tx.execute(
            "INSERT INTO ledger_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)",
            params![migration.version, migration.name, now_ms()],
        )?;
        tracing::info!(version = migration.version, name = migration.name, "ledger migrated (sqlite)");
    }
    tx.commit()?;
    Ok(())
}

fn write(conn: &mut Connection, batch: &[Entry]) -> Result<(), LedgerError> {
    let tx = conn.transaction()?;
    {
        let mut requests = tx.prepare_cached(INSERT_REQUEST)?;
        let mut attempts = tx.prepare_cached(INSERT_ATTEMPT)?;
        let mut content = tx.prepare_cached(INSERT_CONTENT)?;
        let mut id_buf = uuid::Uuid::encode_buffer();
        for Entry { record: r, attempts: tries } in batch {
            let id: &str = r.id.hyphenated().encode_lower(&mut id_buf);
            requests.execute(params![
                id,
                r.ts_ms,
                r.key_id,
                r.ingress.label(),
                r.requested_model,
                r.category,
                r.route,
                json_list(&r.reasons),
                r.provider,
                r.upstream_model,
                r.local,
                tries.len() as i64,
                r.status.label(),
                r.error_kind,
                to_i64(r.usage.input_tokens),
                to_i64(r.usage.output_tokens),
                to_i64(r.usage.cache_read_tokens),
                to_i64(r.usage.cache_write_tokens),
                r.usage.reasoning_tokens.map(to_i64),
                r.cost_usd.to_string(),
                r.ttft_us.map(to_i64),
                to_i64(r.total_us),
                r.upstream_us.map(to_i64),
                r.overhead_us().map(to_i64),
                r.output_tokens_per_s(),
                r.streamed,
                json_list(&r.sensitivity_kinds),
                r.guard_action,
            ])?;
            for a in tries {
                attempts.execute(params![
                    id,
                    a.attempt,
                    a.ts_ms,
                    a.provider,
                    a.upstream_model,
                    a.local,
                    a.status.label(),
                    a.error_kind,
                    to_i64(a.usage.input_tokens),
                    to_i64(a.usage.output_tokens),
                    to_i64(a.usage.cache_read_tokens),
                    to_i64(a.usage.cache_write_tokens),
                    a.usage.reasoning_tokens.map(to_i64),
                    a.cost_usd.to_string(),
                    a.ttft_us.map(to_i64),
                    to_i64(a.total_us),
                    a.output_tokens_per_s(),
                ])?;
            }
            if let Some(stored) = &r.content {
                content.execute(params![id, stored.prompt, stored.response])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

fn scan_rows<V: Visit>(conn: &mut Connection, scan: &Scan, mut visitor: V) -> Result<V, LedgerError> {
    let mut statement = conn.prepare(&scan.sql("?1", "?2"))?;
    let mut rows = statement.query(params![scan.since(), scan.until_ms])?;
    while let Some(row) = rows.next()? {
        let cost = row.get_ref(8)?.as_str().map_err(|err| LedgerError::Corrupt(format!("cost_usd: {err}")))?;
        let cost_usd =
            Decimal::from_str(cost).map_err(|err| LedgerError::Corrupt(format!("cost_usd `{cost}`: {err}")))?;
        let group = row.get_ref(1)?.as_str_or_null().map_err(|err| LedgerError::Corrupt(format!("group: {err}")))?;
        visitor.visit(Fact {
            ts_ms: row.get(0)?,
            group,
            local: row.get(2)?,
            ok: row.get(3)?,
            usage: Usage {
                input_tokens: to_u64(row.get(4)?),
                output_tokens: to_u64(row.get(5)?),
                cache_read_tokens: to_u64(row.get(6)?),
                cache_write_tokens: to_u64(row.get(7)?),
                reasoning_tokens: None,
            },
            cost_usd,
            total_us: to_u64(row.get(9)?),
            ttft_us: row.get::<_, Option<i64>>(10)?.map(to_u64),
            upstream_us: row.get::<_, Option<i64>>(11)?.map(to_u64),
        });
    }
    drop(rows);
    Ok(visitor)
}

fn audit_rows<V: VisitAudit>(conn: &mut Connection, scan: &AuditScan, mut visitor: V) -> Result<V, LedgerError> {
    let mut statement = conn.prepare(&scan.sql("?1", "?2"))?;
    let mut rows = statement.query(params![scan.since(), scan.until_ms])?;
    while let Some(row) = rows.next()? {
        let attempt = match (text(row, 5, "provider")?, text(row, 6, "upstream_model")?, row.get(7)?) {
            (Some(provider), Some(upstream_model), Some(local)) => {
                Some(AttemptDestination { provider, upstream_model, local })
            }
            _ => None,
        };
        let required = |index: usize, name: &str| {
            text(row, index, name)?.ok_or_else(|| LedgerError::Corrupt(format!("{name} is NULL")))
        };
        visitor.visit(AuditFact {
            id: required(0, "id")?,
            ts_ms: row.get(1)?,
            sensitive: row.get(2)?,
            kinds: required(3, "sensitivity_kinds")?,
            guard_action: text(row, 4, "guard_action")?,
            attempt,
        })?;
    }
    drop(rows);
    Ok(visitor)
}

/// A TEXT column, borrowed rather than copied: most audit rows are only counted.
fn text<'row>(row: &'row rusqlite::Row<'_>, index: usize, name: &str) -> Result<Option<&'row str>, LedgerError> {
    row.get_ref(index)?.as_str_or_null().map_err(|err| LedgerError::Corrupt(format!("{name}: {err}")))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(0))
}
