//! Errors of the storage side. None of them reaches a client: the writer logs and counts them, the CLI
//! prints them.

/// A ledger storage or query failure.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the ledger's schema is at version {found}, newer than this bivio knows ({supported}); upgrade bivio")]
    SchemaTooNew { found: i64, supported: u32 },
    #[error("cannot create the ledger directory {path}: {source}")]
    CreateDir { path: String, source: std::io::Error },
    #[error("a stored value is invalid: {0}")]
    Corrupt(String),
    #[error("the ledger's storage thread failed: {0}")]
    Thread(String),
    #[error("cannot render as JSON: {0}")]
    Json(#[from] serde_json::Error),
}
