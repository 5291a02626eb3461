//! Postgres backend, for several gateway replicas sharing one ledger. One connection per process (the
//! writer's batches are large and sequential; reports are rare), re-established after it breaks. Batches
//! go in with binary `COPY` inside one transaction; migrations run under a transaction-scoped advisory lock
//! so replicas starting together apply each version exactly once.
//!
//! TLS is not negotiated yet (`NoTls`): run Postgres on the same host or a private network.

use std::pin::pin;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bivio_protocol::ir::Usage;
use futures::StreamExt;
use rust_decimal::Decimal;
use tokio::sync::Mutex;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls};

use super::{AttemptDestination, AuditFact, AuditScan, Counts, Fact, Scan, Visit, VisitAudit, json_list};
use crate::error::LedgerError;
use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATIONS, pending};
use crate::record::{Entry, to_i64, to_u64};

/// Connect timeout when the URL sets none (`connect_timeout=` in the URL overrides it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Key of the advisory lock held while migrating ("bivioLDG").
const MIGRATION_LOCK: i64 = 0x6269_7669_6f4c_4447;

pub(crate) struct PgStore {
    config: Config,
    client: Mutex<Option<Client>>,
}

const COPY_REQUESTS: &str = "COPY ledger_requests (id, ts_ms, key_id, ingress_api, requested_model, category, \
    route, reasons, provider, upstream_model, local, attempts, status, error_kind, input_tokens, output_tokens, \
    cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, ttft_us, total_us, upstream_us, \
    overhead_us, output_tps, streamed, sensitivity_kinds, guard_action) FROM STDIN BINARY";

const REQUEST_TYPES: [Type; 28] = [
    Type::UUID,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BOOL,
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::NUMERIC,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::FLOAT8,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
];

const COPY_ATTEMPTS: &str = "COPY ledger_attempts (request_id, attempt, ts_ms, provider, upstream_model, local, \
    status, error_kind, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, \
    cost_usd, ttft_us, total_us, output_tps) FROM STDIN BINARY";

const ATTEMPT_TYPES: [Type; 17] = [
    Type::UUID,
    Type::INT4,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::NUMERIC,
    Type::INT8,
    Type::INT8,
    Type::FLOAT8,
];

const COPY_CONTENT: &str = "COPY ledger_content (request_id, prompt, response) FROM STDIN BINARY";
const CONTENT_TYPES: [Type; 3] = [Type::UUID, Type::TEXT, Type::TEXT];

impl PgStore {
    pub(crate) async fn open(url: &str) -> Result<PgStore, LedgerError> {
        let mut config = Config::from_str(url)?;
        // A black-holed server must not hang start-up or the writer's reconnects forever.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let mut client = connect(&config).await?;
        migrate(&mut client).await?;
        Ok(PgStore { config, client: Mutex::new(Some(client)) })
    }

    /// The live connection, reconnecting first if there is none or it broke.
    async fn client<'a>(&self, slot: &'a mut Option<Client>) -> Result<&'a mut Client, LedgerError> {
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = None;
            *slot = Some(connect(&self.config).await?);
        }
        slot.as_mut().ok_or_else(|| LedgerError::Thread("no Postgres connection".into()))
    }

    pub(crate) async fn schema_version(&self) -> Result<i64, LedgerError> {
        let mut slot = self.client.lock().await;
        let client = self.client(&mut slot).await?;
        let row = client.query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM ledger_migrations", &[]).await?;
        Ok(row.try_get(0)?)
    }

    pub(crate) async fn counts(&self) -> Result<Counts, LedgerError> {
        let mut slot = self.client.lock().await;
        let client = self.client(&mut slot).await?;
        let row = client
            .query_one(
                "SELECT (SELECT COUNT(*) FROM ledger_requests), (SELECT COUNT(*) FROM ledger_attempts), \
                 (SELECT COUNT(*) FROM ledger_content)",
                &[],
            )
            .await?;
        Ok(Counts {
            requests: to_u64(row.try_get(0)?),
            attempts: to_u64(row.try_get(1)?),
            content: to_u64(row.try_get(2)?),
        })
    }

    pub(crate) async fn describe(&self) -> Result<Vec<(String, Vec<String>)>, LedgerError> {
        let mut slot = self.client.lock().await;
        let client = self.client(&mut slot).await?;
        let rows = client
            .query(
                "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name LIKE 'ledger\\_%' \
                 ORDER BY table_name, ordinal_position",
                &[],
            )
            .await?;
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for row in rows {
            let table: String = row.try_get(0)?;
            let column: String = row.try_get(1)?;
            match out.last_mut() {
                Some((last, columns)) if *last == table => columns.push(column),
                _ => out.push((table, vec![column])),
            }
        }
        Ok(out)
    }

    pub(crate) async fn first_ts_ms(&self) -> Result<Option<i64>, LedgerError> {
        let mut slot = self.client.lock().await;
        let client = self.client(&mut slot).await?;
        Ok(client.query_one("SELECT MIN(ts_ms) FROM ledger_requests", &[]).await?.try_get(0)?)
    }

    pub(crate) async fn write(&self, batch: &[Entry]) -> Result<(), LedgerError> {
        let mut slot = self.client.lock().await;
        let client = self.client(&mut slot).await?;
        let tx = client.transaction().await?;

        let sink = tx.copy_in(COPY_REQUESTS).await?;
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &REQUEST_TYPES));
        for Entry { record: r, attempts } in batch {
            let reasons = json_list(&r.reasons);
            let kinds = json_list(&r.sensitivity_kinds);
            let values: [&(dyn ToSql + Sync); 28] = [
                &r.id,
                &r.ts_ms,
                &r.key_id,
                &r.ingress.label(),
                &r.requested_model,
                &r.category,
                &r.route,
                &reasons,
                &r.provider,
                &r.upstream_model,
                &r.local,
                &i32::try_from(attempts.len()).unwrap_or(i32::MAX),
                &r.status.label(),
                &r.error_kind,
                &to_i64(r.usage.input_tokens),
                &to_i64(r.usage.output_tokens),
                &to_i64(r.usage.cache_read_tokens),
                &to_i64(r.usage.cache_write_tokens),
                &r.usage.reasoning_tokens.map(to_i64),
                &r.cost_usd,
                &r.ttft_us.map(to_i64),
                &to_i64(r.total_us),
                &r.upstream_us.map(to_i64),
                &r.overhead_us().map(to_i64),
                &r.output_tokens_per_s(),
                &r.streamed,
                &kinds,
                &r.guard_action,
            ];
            writer.as_mut().write(&values).await?;
        }
        writer.finish().await?;

        if batch.iter().any(|entry| !entry.attempts.is_empty()) {
            let sink = tx.copy_in(COPY_ATTEMPTS).await?;
            let mut writer = pin!(BinaryCopyInWriter::new(sink, &ATTEMPT_TYPES));
            for Entry { record, attempts } in batch {
                for a in attempts {
                    let values: [&(dyn ToSql + Sync); 17] = [
                        &record.id,
                        &i32::try_from(a.attempt).unwrap_or(i32::MAX),
                        &a.ts_ms,
                        &a.provider,
                        &a.upstream_model,
                        &a.local,
                        &a.status.label(),
                        &a.error_kind,
                        &to_i64(a.usage.input_tokens),
                        &to_i64(a.usage.output_tokens),
                        &to_i64(a.usage.cache_read_tokens),
                        &to_i64(a.usage.cache_write_tokens),
                        &a.usage.reasoning_tokens.map(to_i64),
                        &a.cost_usd,
                        &a.ttft_us.map(to_i64),
                        &to_i64(a.total_us),
                        &a.output_tokens_per_s(),
                    ];
                    writer.as_mut().write(&values).await?;
                }
            }
            writer.finish().await?;
        }

        if batch.iter().any(|entry| entry.record.content.is_some()) {
            let sink = tx.copy_in(COPY_CONTENT).await?;
            let mut writer = pin!(BinaryCopyInWriter::new(sink, &CONTENT_TYPES));
            for entry in batch {
                if let Some(content) = &entry.record.content {
                    writer.as_mut().write(&[&entry.record.id, &content.prompt, &content.response]).await?;
                }
            }
            writer.finish().await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn scan<V: Visit>(&self, scan: Scan, mut visitor: V) -> Result<V, LedgerError> {
        let mut slot = self.client.lock().await;
        let client = self.client(&mut slot).await?;
        let sql = scan.sql("$1", "$2");
        let since = scan.since();
        let params: [&(dyn ToSql + Sync); 2] = [&since, &scan.until_ms];
        let mut rows = pin!(client.query_raw(&sql, params).await?);
        while let Some(row) = rows.next().await {
            let row = row?;
            visitor.visit(Fact {
                ts_ms: row.try_get(0)?,
                group: row.try_get(1)?,
                local: row.try_get(2)?,
                ok: row.try_get(3)?,
                usage: Usage {
                    input_tokens: to_u64(row.try_get(4)?),
                    output_tokens: to_u64(row.try_get(5)?),
                    cache_read_tokens: to_u64(row.try_get(6)?),
                    cache_write_tokens: to_u64(row.try_get(7)?),
                    reasoning_tokens: None,
                },
                cost_usd: row.try_get::<_, Decimal>(8)?,
                total_us: to_u64(row.try_get(9)?),
                ttft_us: row.try_get::<_, Option<i64>>(10)?.map(to_u64),
                upstream_us: row.try_get::<_, Option<i64>>(11)?.map(to_u64),
            });
        }
        Ok(visitor)
    }

    pub(crate) async fn audit_scan<V: VisitAudit>(&self, scan: AuditScan, mut visitor: V) -> Result<V, LedgerError> {
        let mut slot = self.client.lock().await;
        let client = self.client(&mut slot).await?;
        let sql = scan.sql("$1", "$2");
        let since = scan.since();
        let params: [&(dyn ToSql + Sync); 2] = [&since, &scan.until_ms];
        let mut rows = pin!(client.query_raw(&sql, params).await?);
        while let Some(row) = rows.next().await {
            let row = row?;
            let provider: Option<&str> = row.try_get(5)?;
            let upstream_model: Option<&str> = row.try_get(6)?;
            let local: Option<bool> = row.try_get(7)?;
            let attempt = match (provider, upstream_model, local) {
                (Some(provider), Some(upstream_model), Some(local)) => {
                    Some(AttemptDestination { provider, upstream_model, local })
                }
                _ => None,
            };
            visitor.visit(AuditFact {
                id: row.try_get(0)?,
                ts_ms: row.try_get(1)?,
                sensitive: row.try_get(2)?,
                kinds: row.try_get(3)?,
                guard_action: row.try_get(4)?,
                attempt,
            })?;
        }
        Ok(visitor)
    }
}

async fn connect(config: &Config) -> Result<Client, LedgerError> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::warn!(error = %err, "ledger: Postgres connection closed");
        }
    });
    Ok(client)
}

async fn migrate(client: &mut Client) -> Result<(), LedgerError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(CREATE_MIGRATIONS_TABLE).await?;
    let current: i64 =
        tx.query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM ledger_migrations", &[]).await?.try_get(0)?;
    let supported = MIGRATIONS.last().map_or(0, |migration| migration.version);
    if current > i64::from(supported) {
        return Err(LedgerError::SchemaTooNew { found: current, supported });
    }
    for migration in pending(current) {
        tx.batch_execute(migration.postgres).await?;
        tx.execute(
            "INSERT INTO ledger_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
            &[&i64::from(migration.version), &migration.name, &now_ms()],
        )
        .await?;
        tracing::info!(version = migration.version, name = migration.name, "ledger migrated (postgres)");
    }
    tx.commit().await?;
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(0))
}
