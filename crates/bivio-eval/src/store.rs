//! Where runs, items and arena votes live: the ledger's database (the same SQLite file the gateway
//! writes), in tables of this crate's own with their own migration bookkeeping (`eval_migrations`), so the
//! ledger's schema and migrations are never touched. Postgres ledgers are not supported yet: opening one
//! is a clear error.
//!
//! Writes are single short statements on one connection behind a mutex: the runner's concurrency is in
//! model calls and sandboxed programs, which take milliseconds to minutes, so the lock is never contended
//! for long, and WAL mode lets a running gateway keep writing its ledger meanwhile.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bivio_ledger::StoreSettings;
use rusqlite::{Connection, OptionalExtension, params};

use crate::EvalError;

/// Each migration once, in order; the version is its index + 1.
const MIGRATIONS: &[&str] = &["CREATE TABLE eval_runs (
        id TEXT PRIMARY KEY,
        suite TEXT NOT NULL,
        source TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        model TEXT NOT NULL,
        upstream_model TEXT NOT NULL,
        local INTEGER NOT NULL,
        params TEXT NOT NULL,
        items_total INTEGER NOT NULL,
        started_at_ms INTEGER NOT NULL,
        finished_at_ms INTEGER
    );
    CREATE INDEX eval_runs_by_suite ON eval_runs (suite, model, started_at_ms);
    CREATE TABLE eval_items (
        run_id TEXT NOT NULL REFERENCES eval_runs (id),
        item_id TEXT NOT NULL,
        sample INTEGER NOT NULL,
        subject TEXT,
        prompt TEXT NOT NULL,
        response TEXT NOT NULL,
        extracted TEXT,
        score REAL,
        alt_score REAL,
        detail TEXT NOT NULL,
        error TEXT,
        latency_ms INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cost_usd TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (run_id, item_id, sample)
    );
    CREATE TABLE arena_runs (
        id TEXT PRIMARY KEY,
        prompts TEXT NOT NULL,
        models TEXT NOT NULL,
        judge TEXT,
        started_at_ms INTEGER NOT NULL,
        finished_at_ms INTEGER
    );
    CREATE TABLE arena_answers (
        run_id TEXT NOT NULL REFERENCES arena_runs (id),
        prompt_id TEXT NOT NULL,
        model TEXT NOT NULL,
        category TEXT NOT NULL,
        turns TEXT NOT NULL,
        answers TEXT NOT NULL,
        latency_ms INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cost_usd TEXT NOT NULL,
        PRIMARY KEY (run_id, prompt_id, model)
    );
    CREATE TABLE arena_votes (
        run_id TEXT NOT NULL REFERENCES arena_runs (id),
        prompt_id TEXT NOT NULL,
        category TEXT NOT NULL,
        first TEXT NOT NULL,
        second TEXT NOT NULL,
        judge TEXT NOT NULL,
        verdict TEXT NOT NULL,
        explanation TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (run_id, prompt_id, first, second, judge)
    );"];

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// One (suite, model) run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub suite: String,
    pub source: String,
    pub fingerprint: String,
    pub model: String,
    pub upstream_model: String,
    pub local: bool,
    /// JSON: limit, samples, temperature, seed, sandbox isolation.
    pub params: String,
    pub items_total: i64,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

/// One scored (or failed) item sample.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemRow {
    pub item_id: String,
    pub sample: i64,
    pub subject: Option<String>,
    pub prompt: String,
    pub response: String,
    pub extracted: Option<String>,
    /// `None` when the item failed (`error` says why): failed items are retried on resume.
    pub score: Option<f64>,
    pub alt_score: Option<f64>,
    pub detail: String,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Exact decimal, as text.
    pub cost_usd: String,
    pub created_at_ms: i64,
}

/// A model's answers to one arena prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerRow {
    pub prompt_id: String,
    pub model: String,
    pub category: String,
    pub turns: Vec<String>,
    pub answers: Vec<String>,
    pub latency_ms: i64,
    pub output_tokens: i64,
    pub cost_usd: String,
}

/// One judgement: `first` was shown as assistant A, `second` as B; verdict `A`, `B` or `tie`.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteRow {
    pub prompt_id: String,
    pub category: String,
    pub first: String,
    pub second: String,
    pub judge: String,
    pub verdict: String,
    pub explanation: String,
    pub created_at_ms: i64,
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArenaRunRow {
    pub id: String,
    pub prompts: String,
    pub models: Vec<String>,
    pub judge: Option<String>,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// The ledger database the gateway config names.
    pub fn open_ledger(settings: &StoreSettings) -> Result<Store, EvalError> {
        match settings {
            StoreSettings::Sqlite { path } => Store::open(path),
            StoreSettings::Postgres { .. } => Err(EvalError::usage(
                "the ledger is on Postgres: the evaluation lab stores results in SQLite ledgers only for now; \
                 point --config at a config whose [ledger] is SQLite (or omit [ledger])",
            )),
        }
    }

    pub fn open(path: &Path) -> Result<Store, EvalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| EvalError::read(dir, err))?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Store::migrate(conn)
    }

    pub fn in_memory() -> Result<Store, EvalError> {
        Store::migrate(Connection::open_in_memory()?)
    }

    fn migrate(mut conn: Connection) -> Result<Store, EvalError> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS eval_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)",
        )?;
        let applied: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM eval_migrations", [], |r| r.get(0))?;
        if applied > MIGRATIONS.len() as i64 {
            return Err(EvalError::usage(format!(
                "the database has evaluation schema version {applied}, newer than this bivio ({}): upgrade bivio",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO eval_migrations (version, applied_at_ms) VALUES (?1, ?2)",
                params![i as i64 + 1, now_ms()],
            )?;
            tx.commit()?;
        }
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, EvalError> {
        let conn = self.conn.lock().map_err(|_| EvalError::usage("the database connection was poisoned"))?;
        Ok(f(&conn)?)
    }

    /// The latest unfinished run with the same suite content, model and parameters (what resuming continues).
    pub fn resumable(
        &self,
        suite: &str,
        fingerprint: &str,
        model: &str,
        params: &str,
    ) -> Result<Option<RunRow>, EvalError> {
        self.with(|c| {
            c.query_row(
                &format!("{RUN_SELECT} WHERE suite = ?1 AND fingerprint = ?2 AND model = ?3 AND params = ?4 AND finished_at_ms IS NULL ORDER BY started_at_ms DESC LIMIT 1"),
                params![suite, fingerprint, model, params],
                run_row,
            )
            .optional()
        })
    }

    pub fn create_run(&self, run: &RunRow) -> Result<(), EvalError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO eval_runs (id, suite, source, fingerprint, model, upstream_model, local, params, items_total, started_at_ms, finished_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![run.id, run.suite, run.source, run.fingerprint, run.model, run.upstream_model, run.local, run.params, run.items_total, run.started_at_ms, run.finished_at_ms],
            )
            .map(|_| ())
        })
    }

    pub fn finish_run(&self, id: &str, at_ms: i64) -> Result<(), EvalError> {
        self.with(|c| {
            c.execute("UPDATE eval_runs SET finished_at_ms = ?2 WHERE id = ?1", params![id, at_ms]).map(|_| ())
        })
    }

    pub fn runs(&self) -> Result<Vec<RunRow>, EvalError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!("{RUN_SELECT} ORDER BY started_at_ms, id"))?;
            stmt.query_map([], run_row)?.collect()
        })
    }

    /// Samples already scored (their error is NULL): the runner skips them.
    pub fn scored(&self, run_id: &str) -> Result<HashSet<(String, i64)>, EvalError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT item_id, sample FROM eval_items WHERE run_id = ?1 AND error IS NULL")?;
            stmt.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect()
        })
    }

    pub fn save_item(&self, run_id: &str, row: &ItemRow) -> Result<(), EvalError> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO eval_items (run_id, item_id, sample, subject, prompt, response, extracted, score, alt_score, detail, error, latency_ms, input_tokens, output_tokens, cost_usd, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                params![run_id, row.item_id, row.sample, row.subject, row.prompt, row.response, row.extracted, row.score, row.alt_score, row.detail, row.error, row.latency_ms, row.input_tokens, row.output_tokens, row.cost_usd, row.created_at_ms],
            )
            .map(|_| ())
        })
    }

    pub fn items(&self, run_id: &str) -> Result<Vec<ItemRow>, EvalError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT item_id, sample, subject, prompt, response, extracted, score, alt_score, detail, error, latency_ms, input_tokens, output_tokens, cost_usd, created_at_ms
                 FROM eval_items WHERE run_id = ?1 ORDER BY item_id, sample",
            )?;
            stmt.query_map([run_id], |r| {
                Ok(ItemRow {
                    item_id: r.get(0)?,
                    sample: r.get(1)?,
                    subject: r.get(2)?,
                    prompt: r.get(3)?,
                    response: r.get(4)?,
                    extracted: r.get(5)?,
                    score: r.get(6)?,
                    alt_score: r.get(7)?,
                    detail: r.get(8)?,
                    error: r.get(9)?,
                    latency_ms: r.get(10)?,
                    input_tokens: r.get(11)?,
                    output_tokens: r.get(12)?,
                    cost_usd: r.get(13)?,
                    created_at_ms: r.get(14)?,
                })
            })?
            .collect()
        })
    }

    // --- arena -----------------------------------------------------------------------------------

    pub fn create_arena_run(&self, run: &ArenaRunRow) -> Result<(), EvalError> {
        let models = serde_json::to_string(&run.models).unwrap_or_default();
        self.with(|c| {
            c.execute(
                "INSERT INTO arena_runs (id, prompts, models, judge, started_at_ms, finished_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![run.id, run.prompts, models, run.judge, run.started_at_ms, run.finished_at_ms],
            )
            .map(|_| ())
        })
    }

    pub fn finish_arena_run(&self, id: &str, at_ms: i64) -> Result<(), EvalError> {
        self.with(|c| {
            c.execute("UPDATE arena_runs SET finished_at_ms = ?2 WHERE id = ?1", params![id, at_ms]).map(|_| ())
        })
    }

    pub fn arena_runs(&self) -> Result<Vec<ArenaRunRow>, EvalError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT id, prompts, models, judge, started_at_ms, finished_at_ms FROM arena_runs ORDER BY started_at_ms, id")?;
            stmt.query_map([], |r| {
                let models: String = r.get(2)?;
                Ok(ArenaRunRow {
                    id: r.get(0)?,
                    prompts: r.get(1)?,
                    models: serde_json::from_str(&models).unwrap_or_default(),
                    judge: r.get(3)?,
                    started_at_ms: r.get(4)?,
                    finished_at_ms: r.get(5)?,
                })
            })?
            .collect()
        })
    }

    pub fn save_answer(&self, run_id: &str, a: &AnswerRow) -> Result<(), EvalError> {
        let turns = serde_json::to_string(&a.turns).unwrap_or_default();
        let answers = serde_json::to_string(&a.answers).unwrap_or_default();
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO arena_answers (run_id, prompt_id, model, category, turns, answers, latency_ms, output_tokens, cost_usd)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![run_id, a.prompt_id, a.model, a.category, turns, answers, a.latency_ms, a.output_tokens, a.cost_usd],
            )
            .map(|_| ())
        })
    }

    pub fn answers(&self, run_id: &str) -> Result<Vec<AnswerRow>, EvalError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT prompt_id, model, category, turns, answers, latency_ms, output_tokens, cost_usd FROM arena_answers WHERE run_id = ?1 ORDER BY prompt_id, model",
            )?;
            stmt.query_map([run_id], |r| {
                let turns: String = r.get(3)?;
                let answers: String = r.get(4)?;
                Ok(AnswerRow {
                    prompt_id: r.get(0)?,
                    model: r.get(1)?,
                    category: r.get(2)?,
                    turns: serde_json::from_str(&turns).unwrap_or_default(),
                    answers: serde_json::from_str(&answers).unwrap_or_default(),
                    latency_ms: r.get(5)?,
                    output_tokens: r.get(6)?,
                    cost_usd: r.get(7)?,
                })
            })?
            .collect()
        })
    }

    pub fn save_vote(&self, run_id: &str, v: &VoteRow) -> Result<(), EvalError> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO arena_votes (run_id, prompt_id, category, first, second, judge, verdict, explanation, created_at_ms, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![run_id, v.prompt_id, v.category, v.first, v.second, v.judge, v.verdict, v.explanation, v.created_at_ms, v.seq],
            )
            .map(|_| ())
        })
    }

    pub fn votes(&self, run_id: &str) -> Result<Vec<VoteRow>, EvalError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT prompt_id, category, first, second, judge, verdict, explanation, created_at_ms, seq FROM arena_votes WHERE run_id = ?1 ORDER BY seq, created_at_ms",
            )?;
            stmt.query_map([run_id], |r| {
                Ok(VoteRow {
                    prompt_id: r.get(0)?,
                    category: r.get(1)?,
                    first: r.get(2)?,
                    second: r.get(3)?,
                    judge: r.get(4)?,
                    verdict: r.get(5)?,
                    explanation: r.get(6)?,
                    created_at_ms: r.get(7)?,
                    seq: r.get(8)?,
                })
            })?
            .collect()
        })
    }
}

const RUN_SELECT: &str = "SELECT id, suite, source, fingerprint, model, upstream_model, local, params, items_total, started_at_ms, finished_at_ms FROM eval_runs";

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        suite: r.get(1)?,
        source: r.get(2)?,
        fingerprint: r.get(3)?,
        model: r.get(4)?,
        upstream_model: r.get(5)?,
        local: r.get(6)?,
        params: r.get(7)?,
        items_total: r.get(8)?,
        started_at_ms: r.get(9)?,
        finished_at_ms: r.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str) -> RunRow {
        RunRow {
            id: id.into(),
            suite: "gsm8k".into(),
            source: "x".into(),
            fingerprint: "f".into(),
            model: "m".into(),
            upstream_model: "m".into(),
            local: true,
            params: "{}".into(),
            items_total: 2,
            started_at_ms: 1,
            finished_at_ms: None,
        }
    }

    #[test]
    fn postgres_ledgers_are_refused_with_a_clear_error() {
        let settings = StoreSettings::Postgres { url: secrecy::SecretString::from("postgres://u:p@h/db") };
        let err = Store::open_ledger(&settings).unwrap_err().to_string();
        assert!(err.contains("the ledger is on Postgres") && !err.contains("u:p"), "{err}");
    }

    #[test]
    fn migrations_are_idempotent_and_resume_finds_unfinished_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ledger.sqlite3");
        let store = Store::open(&path).unwrap();
        store.create_run(&run("r1")).unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.resumable("gsm8k", "f", "m", "{}").unwrap().map(|r| r.id), Some("r1".into()));
        assert_eq!(store.resumable("gsm8k", "g", "m", "{}").unwrap(), None);
        store.save_item("r1", &ItemRow { item_id: "a".into(), score: Some(1.0), ..ItemRow::default() }).unwrap();
        store
            .save_item("r1", &ItemRow { item_id: "b".into(), error: Some("boom".into()), ..ItemRow::default() })
            .unwrap();
        assert_eq!(store.scored("r1").unwrap(), HashSet::from([("a".to_owned(), 0)]));
        store.finish_run("r1", 5).unwrap();
        assert_eq!(store.resumable("gsm8k", "f", "m", "{}").unwrap(), None);
        let versions: i64 =
            store.with(|c| c.query_row("SELECT COUNT(*) FROM eval_migrations", [], |r| r.get(0))).unwrap();
        assert_eq!(versions, MIGRATIONS.len() as i64);
    }
}
