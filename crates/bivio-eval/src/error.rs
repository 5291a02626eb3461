//! Every failure the lab reports. Messages name what is wrong and where (file, line, field) so a bad
//! dataset is fixed from the message alone; nothing here ever panics on bad input.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// A dataset record that cannot be used: `{path}:{line}: {field}: {message}`.
    #[error("{path}:{line}: {message}")]
    Data { path: String, line: usize, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error("model `{model}`: {message}")]
    Model { model: String, message: String },
    #[error("{0}")]
    Render(String),
}

impl EvalError {
    pub fn read(path: &Path, source: std::io::Error) -> EvalError {
        EvalError::Read { path: path.display().to_string(), source }
    }

    pub fn data(path: &Path, line: usize, message: impl Into<String>) -> EvalError {
        EvalError::Data { path: path.display().to_string(), line, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> EvalError {
        EvalError::Usage(message.into())
    }
}
